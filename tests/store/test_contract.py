"""The storage contract: every backend must pass these."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from idp.errors import Conflict
from idp.store import Client, SigningKey, Store, User
from idp.store.sqlite import SqliteStore


@pytest.fixture(params=["sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    backend: Store = SqliteStore(tmp_path / "contract.sqlite3")
    yield backend
    backend.close()


def _user(username: str = "bob") -> User:
    return User(sub=f"sub-{username}", username=username, password_hash="h", name="Bob")


def test_users_round_trip_and_unique_username(store: Store) -> None:
    store.add_user(_user())
    assert store.find_user("bob") == _user()
    assert store.get_user("sub-bob") == _user()
    with pytest.raises(Conflict):
        store.add_user(User(sub="other", username="bob", password_hash="x"))
    assert [u.username for u in store.list_users()] == ["bob"]
    assert store.remove_user("sub-bob") is True
    assert store.remove_user("sub-bob") is False
    assert store.find_user("bob") is None


def test_user_address_survives_storage(store: Store) -> None:
    user = User(sub="s", username="ann", password_hash="h", address={"locality": "Leusden"})
    store.add_user(user)
    assert store.get_user("s") == user


def test_clients_round_trip(store: Store) -> None:
    client = Client(client_id="c1", name="One", redirect_uris=("https://a/cb", "https://b/cb"))
    store.add_client(client)
    assert store.get_client("c1") == client
    with pytest.raises(Conflict):
        store.add_client(client)
    assert store.remove_client("c1") is True
    assert store.get_client("c1") is None


def test_keys_round_trip(store: Store) -> None:
    key = SigningKey(kid="k1", alg="RS256", private_jwk="{}", created_at=1)
    store.add_key(key)
    rotated = SigningKey(kid="k1", alg="RS256", private_jwk="{}", created_at=1, rotated_at=5)
    store.update_key(rotated)
    assert store.list_keys() == [rotated]


def test_records_expire(store: Store) -> None:
    store.upsert("code", "a", {"x": 1}, expires_in=1)
    store.upsert("code", "b", {"x": 2})
    assert store.find("code", "a") == {"x": 1}
    time.sleep(1.1)
    assert store.find("code", "a") is None
    assert store.consume("code", "a") is None
    assert store.find("code", "b") == {"x": 2}


def test_consume_is_single_use_and_visible(store: Store) -> None:
    store.upsert("code", "a", {"x": 1}, expires_in=60)
    assert store.consume("code", "a") == {"x": 1}
    assert store.consume("code", "a") is None
    assert store.find("code", "a") == {"x": 1, "consumed": True}


def test_consume_under_contention_succeeds_once(store: Store) -> None:
    store.upsert("code", "race", {}, expires_in=60)
    wins: list[bool] = []
    barrier = threading.Barrier(8)

    def attempt() -> None:
        barrier.wait()
        wins.append(store.consume("code", "race") is not None)

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wins.count(True) == 1


def test_revoke_by_grant_id_removes_the_family(store: Store) -> None:
    store.upsert("access_token", "a1", {}, expires_in=60, grant_id="g1")
    store.upsert("refresh_token", "r1", {}, expires_in=60, grant_id="g1")
    store.upsert("access_token", "a2", {}, expires_in=60, grant_id="g2")
    assert store.revoke_by_grant_id("g1") == 2
    assert store.find("access_token", "a1") is None
    assert store.find("refresh_token", "r1") is None
    assert store.find("access_token", "a2") == {}


def test_upsert_replaces_and_destroy_removes(store: Store) -> None:
    store.upsert("login", "l", {"v": 1}, expires_in=60)
    store.upsert("login", "l", {"v": 2}, expires_in=60)
    assert store.find("login", "l") == {"v": 2}
    store.destroy("login", "l")
    assert store.find("login", "l") is None


def test_find_by_prefix(store: Store) -> None:
    store.upsert("consent", "u1:a", {"n": 1})
    store.upsert("consent", "u1:b", {"n": 2})
    store.upsert("consent", "u2:a", {"n": 3})
    assert store.find_by_prefix("consent", "u1:") == [("u1:a", {"n": 1}), ("u1:b", {"n": 2})]


def test_counters_count_within_window_and_reset(store: Store) -> None:
    assert store.hit("k", 1) == 1
    assert store.hit("k", 1) == 2
    assert store.count("k") == 2
    time.sleep(1.1)
    assert store.count("k") == 0
    assert store.hit("k", 60) == 1
    store.clear("k")
    assert store.count("k") == 0


def test_a_released_hit_is_given_back_but_never_below_zero(store: Store) -> None:
    store.hit("k", 60)
    store.hit("k", 60)
    store.release("k")
    assert store.count("k") == 1
    store.release("k")
    store.release("k")
    store.release("absent")
    assert store.count("k") == 0
    assert store.count("absent") == 0
    assert store.hit("k", 60) == 1


def test_hits_from_many_threads_each_get_their_own_count(store: Store) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        counts = list(pool.map(lambda _: store.hit("race", 60), range(40)))
    assert sorted(counts) == list(range(1, 41))


def test_data_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "reopen.sqlite3"
    first = SqliteStore(path)
    first.add_user(_user())
    first.hit("login-fail:user:bob", 600)
    first.close()
    second = SqliteStore(path)
    assert second.find_user("bob") == _user()
    assert second.count("login-fail:user:bob") == 1


def test_maintenance_thread_checkpoints_and_sweeps(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "kept.sqlite3")
    store.start_maintenance(interval=0.05, sweep_every=0.05)
    try:
        store.upsert("code", "old", {}, expires_in=0)
        store.upsert("code", "new", {}, expires_in=60)
        wal = tmp_path / "kept.sqlite3-wal"
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            raw = sqlite3.connect(tmp_path / "kept.sqlite3")
            rows = raw.execute("SELECT key FROM records").fetchall()
            raw.close()
            if rows == [("code:new",)]:
                break
            time.sleep(0.05)
        assert rows == [("code:new",)]
        assert wal.exists()
    finally:
        store.close()
    assert store.find("code", "new") == {}


def test_the_wal_starts_over_while_writes_keep_coming(tmp_path: Path) -> None:
    """Checkpoints must let the WAL start over under a steady stream of writes; else it
    grows by every commit (about 300 MB over these writes)."""
    store = SqliteStore(tmp_path / "busy.sqlite3")
    store.start_maintenance(interval=0.02)
    try:
        for n in range(20_000):
            store.upsert("access_token", f"token-{n}", {"n": n}, expires_in=60, grant_id=f"g{n}")
        wal_bytes = (tmp_path / "busy.sqlite3-wal").stat().st_size
    finally:
        store.close()
    assert wal_bytes < 100_000_000
    assert SqliteStore(tmp_path / "busy.sqlite3").find("access_token", "token-19999") == {
        "n": 19999
    }


def test_the_sweep_deletes_expired_rows_batch_after_batch(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "swept.sqlite3")
    for n in range(1_200):  # more than two batches
        store.upsert("code", f"old-{n}", {}, expires_in=0)
        if n % 400 == 0:
            store.upsert("code", f"live-{n}", {}, expires_in=60)
    store.hit("login-fail:gone", 0)
    store.start_maintenance(interval=0.02, sweep_every=0.02)
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            raw = sqlite3.connect(tmp_path / "swept.sqlite3")
            keys = [k for (k,) in raw.execute("SELECT key FROM records ORDER BY key")]
            counters = raw.execute("SELECT count(*) FROM counters").fetchone()[0]
            raw.close()
            if len(keys) == 3 and counters == 0:
                break
            time.sleep(0.05)
    finally:
        store.close()
    assert keys == ["code:live-0", "code:live-400", "code:live-800"]
    assert counters == 0


def test_atomic_writes_land_together_or_not_at_all(store: Store) -> None:
    with store.atomic():
        store.upsert("code", "a", {"n": 1})
        with store.atomic():  # joins the outer one
            store.upsert("code", "b", {"n": 2})
        assert store.consume("code", "a") == {"n": 1}
    assert store.find("code", "a") == {"n": 1, "consumed": True}
    assert store.find("code", "b") == {"n": 2}

    with pytest.raises(RuntimeError), store.atomic():
        store.upsert("code", "c", {"n": 3})
        store.destroy("code", "b")
        store.consume("code", "a")
        raise RuntimeError("midway")
    assert store.find("code", "c") is None
    assert store.find("code", "b") == {"n": 2}
    store.upsert("code", "d", {"n": 4})  # and the store goes on as before
    assert store.find("code", "d") == {"n": 4}
