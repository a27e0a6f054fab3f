"""Grouped commits: the writes of many requests in one turn of the event loop land in one
commit, each request's own writes still all or nothing, and nobody told of a write that
did not land."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from idp.errors import StoreError
from idp.store.sqlite import SqliteStore
from tests.failing_commit import commits_fail


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    backend = SqliteStore(tmp_path / "grouped.sqlite3")
    yield backend
    backend.close()


def committed_keys(store: SqliteStore) -> list[str]:
    """What another connection (another process, say) sees."""
    raw = sqlite3.connect(store.path)
    try:
        return [key for (key,) in raw.execute("SELECT key FROM records ORDER BY key")]
    finally:
        raw.close()


def test_blocks_of_one_turn_land_in_one_commit_after_it(store: SqliteStore) -> None:
    seen: dict[str, list[str]] = {}

    async def request(name: str) -> None:
        with store.grouped():
            store.upsert("token", name, {"n": name})
        seen[f"{name} before"] = committed_keys(store)
        await store.landed()
        seen[f"{name} after"] = committed_keys(store)

    async def main() -> None:
        await asyncio.gather(request("a"), request("b"), request("c"))

    asyncio.run(main())
    # all three blocks ran before the commit: nobody outside saw any of them early
    assert seen["a before"] == seen["b before"] == seen["c before"] == []
    everything = ["token:a", "token:b", "token:c"]
    assert seen["a after"] == seen["b after"] == seen["c after"] == everything


def test_a_block_that_fails_is_undone_alone(store: SqliteStore) -> None:
    async def good(name: str) -> None:
        with store.grouped():
            store.upsert("token", name, {})
        await store.landed()

    async def bad() -> None:
        with store.grouped():
            store.upsert("token", "bad-1", {})
            store.consume("token", "a")  # written by a block before it in the same turn
            store.upsert("token", "bad-2", {})
            raise RuntimeError("midway")

    async def main() -> list[Any]:
        return await asyncio.gather(good("a"), bad(), good("b"), return_exceptions=True)

    results = asyncio.run(main())
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], RuntimeError)
    assert committed_keys(store) == ["token:a", "token:b"]
    assert store.find("token", "a") == {}  # the failed block's consume was undone too


def test_the_first_block_of_a_turn_that_fails_is_undone_alone(store: SqliteStore) -> None:
    store.upsert("token", "old", {})

    async def bad() -> None:
        with store.grouped():
            store.upsert("token", "bad", {})
            store.destroy("token", "old")
            raise RuntimeError("midway")

    async def good(name: str) -> None:
        with store.grouped():
            store.upsert("token", name, {})
        await store.landed()

    async def main() -> list[Any]:
        return await asyncio.gather(bad(), good("a"), good("b"), return_exceptions=True)

    results = asyncio.run(main())
    assert isinstance(results[0], RuntimeError) and results[1:] == [None, None]
    assert committed_keys(store) == ["token:a", "token:b", "token:old"]


def test_landed_raises_for_everyone_when_the_commit_fails(store: SqliteStore) -> None:
    store.upsert("token", "before", {})

    async def request(name: str) -> str:
        with store.grouped():
            store.upsert("token", name, {})
        try:
            await store.landed()
        except StoreError as exc:
            return str(exc)
        return "landed"

    async def main() -> list[str]:
        with commits_fail(store):
            return await asyncio.gather(request("x"), request("y"))

    outcomes = asyncio.run(main())
    assert outcomes == ["the store could not commit: database or disk is full"] * 2
    assert committed_keys(store) == ["token:before"]
    store.upsert("token", "after", {})  # and the store goes on
    assert committed_keys(store) == ["token:after", "token:before"]


def test_a_write_outside_a_block_lands_the_open_group_first(store: SqliteStore) -> None:
    async def main() -> list[str]:
        with store.grouped():
            store.upsert("token", "grouped", {})
        assert committed_keys(store) == []
        store.upsert("session", "plain", {})  # e.g. a login page, in the same turn
        outside = committed_keys(store)
        await store.landed()  # returns at once: the group landed already
        return outside

    assert asyncio.run(main()) == ["session:plain", "token:grouped"]


def test_atomic_outside_a_block_lands_the_open_group_first(store: SqliteStore) -> None:
    async def main() -> None:
        with store.grouped():
            store.upsert("token", "grouped", {})
        with pytest.raises(RuntimeError), store.atomic():
            store.upsert("token", "atomic", {})
            raise RuntimeError("midway")
        await store.landed()

    asyncio.run(main())
    assert committed_keys(store) == ["token:grouped"]


def test_a_block_that_only_reads_waits_for_nothing(store: SqliteStore) -> None:
    store.upsert("token", "t", {"n": 1})

    async def main() -> dict[str, Any] | None:
        with store.grouped():
            found = store.find("token", "t")
        assert store._local.__dict__.get("group") is None  # no transaction was opened
        await store.landed()
        return found

    assert asyncio.run(main()) == {"n": 1}


def test_without_an_event_loop_a_block_commits_at_its_end(store: SqliteStore) -> None:
    with store.grouped():
        store.upsert("token", "a", {})
        with store.grouped():  # nested blocks join
            store.upsert("token", "b", {})
    assert committed_keys(store) == ["token:a", "token:b"]
    with pytest.raises(RuntimeError), store.grouped():
        store.upsert("token", "c", {})
        raise RuntimeError("midway")
    assert committed_keys(store) == ["token:a", "token:b"]


def test_close_lands_an_open_group(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "closing.sqlite3")

    async def main() -> None:
        with store.grouped():
            store.upsert("token", "last", {})
        store.close()  # a server shutting down within the turn

    asyncio.run(main())
    assert committed_keys(store) == ["token:last"]
