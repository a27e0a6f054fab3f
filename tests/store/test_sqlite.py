"""What only the sqlite backend has: its WAL upkeep and sweep of expired rows."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

from idp.store.sqlite import SqliteStore

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_maintenance_thread_checkpoints_and_sweeps(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "kept.sqlite3")
    store.start_upkeep(interval=0.05, sweep_every=0.05)
    try:
        await store.upsert("code", "old", {}, expires_in=0)
        await store.upsert("code", "new", {}, expires_in=60)
        wal = tmp_path / "kept.sqlite3-wal"
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            raw = sqlite3.connect(tmp_path / "kept.sqlite3")
            rows = raw.execute("SELECT key FROM records").fetchall()
            raw.close()
            if rows == [("code:new",)]:
                break
            await asyncio.sleep(0.05)
        assert rows == [("code:new",)]
        assert wal.exists()
    finally:
        store.close_now()
    assert await store.find("code", "new") == {}


async def test_the_wal_starts_over_while_writes_keep_coming(tmp_path: Path) -> None:
    """Checkpoints must let the WAL start over under a steady stream of writes; else it
    grows by every commit (about 300 MB over these writes)."""
    store = SqliteStore(tmp_path / "busy.sqlite3")
    store.start_upkeep(interval=0.02)
    try:
        for n in range(20_000):
            await store.upsert(
                "access_token", f"token-{n}", {"n": n}, expires_in=60, grant_id=f"g{n}"
            )
        wal_bytes = (tmp_path / "busy.sqlite3-wal").stat().st_size
    finally:
        store.close_now()
    assert wal_bytes < 100_000_000
    assert await SqliteStore(tmp_path / "busy.sqlite3").find("access_token", "token-19999") == {
        "n": 19999
    }


async def test_the_sweep_deletes_expired_rows_batch_after_batch(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "swept.sqlite3")
    for n in range(1_200):  # more than two batches
        await store.upsert("code", f"old-{n}", {}, expires_in=0)
        if n % 400 == 0:
            await store.upsert("code", f"live-{n}", {}, expires_in=60)
    await store.hit("login-fail:gone", 0)
    store.start_upkeep(interval=0.02, sweep_every=0.02)
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            raw = sqlite3.connect(tmp_path / "swept.sqlite3")
            keys = [k for (k,) in raw.execute("SELECT key FROM records ORDER BY key")]
            counters = raw.execute("SELECT count(*) FROM counters").fetchone()[0]
            raw.close()
            if len(keys) == 3 and counters == 0:
                break
            await asyncio.sleep(0.05)
    finally:
        store.close_now()
    assert keys == ["code:live-0", "code:live-400", "code:live-800"]
    assert counters == 0


async def test_units_that_wait_for_each_other_share_one_commit(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "grouped.sqlite3")
    commits: list[str] = []
    store._thread().writer.set_trace_callback(
        lambda sql: commits.append(sql) if sql == "COMMIT" else None
    )

    async def request(n: int) -> None:
        async with store.unit():
            await store.upsert("code", f"c{n}", {"n": n})
            await asyncio.sleep(0)  # others queue up to write meanwhile
            if n == 3:
                raise RuntimeError("this one fails")
            await store.upsert("token", f"t{n}", {"n": n})

    results = await asyncio.gather(*(request(n) for n in range(10)), return_exceptions=True)

    assert [type(r).__name__ for r in results].count("RuntimeError") == 1
    assert 1 <= len(commits) < 10  # shared, where each unit alone would commit once
    for n in range(10):  # everyone's writes landed, but none of the failed one's
        landed = await store.find("code", f"c{n}"), await store.find("token", f"t{n}")
        assert landed == ((None, None) if n == 3 else ({"n": n}, {"n": n}))
    store.close_now()


async def test_a_shared_commit_that_fails_is_told_to_every_unit_in_it(tmp_path: Path) -> None:
    from tests.failing_commit import commits_fail

    store = SqliteStore(tmp_path / "failing.sqlite3")

    async def request(n: int) -> None:
        async with store.unit():
            await store.upsert("code", f"c{n}", {"n": n})
            await asyncio.sleep(0)

    with commits_fail(store):
        results = await asyncio.gather(*(request(n) for n in range(6)), return_exceptions=True)

    assert all(type(r).__name__ == "StoreError" for r in results), results
    assert [await store.find("code", f"c{n}") for n in range(6)] == [None] * 6
    await store.upsert("code", "after", {})  # and the store goes on
    assert await store.find("code", "after") == {}
    store.close_now()
