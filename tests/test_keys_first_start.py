"""Servers that start at the same moment on one empty store end up with one set of keys
and one account client, whoever comes first."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from idp.account import ACCOUNT_CLIENT_ID, ensure_account_client
from idp.demo import ensure_demo
from idp.keys import ALGORITHMS, KeyRing, generate_key
from idp.provider import Provider
from idp.store.sqlite import SqliteStore
from tests.conftest import make_settings


def _meet_after(monkeypatch: pytest.MonkeyPatch, method: str) -> None:
    """Each of two servers, having read with `method`, waits (a little) for the other to
    have read too: the moment a check-then-write race would strike."""
    met = threading.Barrier(2)
    read = getattr(SqliteStore, method)

    async def read_then_meet(store: SqliteStore, *args: object) -> object:
        found = await read(store, *args)
        with contextlib.suppress(threading.BrokenBarrierError):
            met.wait(0.5)  # a server that the other holds back comes on its own
        return found

    monkeypatch.setattr(SqliteStore, method, read_then_meet)


def _at_once(path: Path, start: object) -> list[object]:
    """Run `start(store)` in two threads, each with a store of its own on `path` (as two
    processes would), and return what each returned."""
    results: list[object] = [None, None]

    def server(index: int) -> None:
        store = SqliteStore(path)
        try:
            results[index] = asyncio.run(start(store))  # type: ignore[operator]
        finally:
            store.close_now()

    threads = [threading.Thread(target=server, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_two_servers_starting_at_once_make_one_key_per_algorithm(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(tmp_path)
    # the keys are made beforehand, so both servers reach the race at the same moment
    made = {alg: generate_key(alg) for alg in ALGORITHMS}
    monkeypatch.setattr(
        KeyRing,
        "_generate",
        lambda ring, algs: [replace(made[a], kid=f"{a}-{id(ring)}") for a in algs],
    )
    _meet_after(monkeypatch, "list_keys")
    created = _at_once(tmp_path / "idp.sqlite3", lambda store: KeyRing(store, settings).ensure())

    assert sorted(len(keys) for keys in created) == [0, len(ALGORITHMS)]  # type: ignore[arg-type]
    store = SqliteStore(tmp_path / "idp.sqlite3")
    active = [k.alg for k in asyncio.run(store.list_keys()) if k.rotated_at is None]
    assert sorted(active) == sorted(ALGORITHMS)


def test_two_servers_starting_at_once_make_one_account_client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    issuer = "https://idp.test"
    SqliteStore(tmp_path / "idp.sqlite3").close_now()  # the file exists: the race is later
    _meet_after(monkeypatch, "get_client")
    _at_once(tmp_path / "idp.sqlite3", lambda store: ensure_account_client(store, issuer))

    store = SqliteStore(tmp_path / "idp.sqlite3")
    clients = asyncio.run(store.list_clients())
    assert [c.client_id for c in clients] == [ACCOUNT_CLIENT_ID]


def test_two_demo_servers_starting_at_once_make_one_demo_account(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    secrets_file = tmp_path / "demo-account.json"
    SqliteStore(tmp_path / "idp.sqlite3").close_now()

    async def start_demo(store: SqliteStore) -> object:
        return await ensure_demo(Provider(settings, store=store), secrets_file)

    accounts = _at_once(tmp_path / "idp.sqlite3", start_demo)

    assert accounts[0] == accounts[1]  # the same password for both
    store = SqliteStore(tmp_path / "idp.sqlite3")
    assert [u.username for u in asyncio.run(store.list_users())] == ["demo"]
    assert [c.client_id for c in asyncio.run(store.list_clients())] == ["demo"]
