"""The storage contract: every backend must pass these, unchanged (what only one backend
has is tested beside it, as in test_sqlite.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from idp.errors import Conflict
from idp.store import Client, SigningKey, Store, User
from idp.store.sqlite import SqliteStore


@dataclass
class Backend:
    """One backend's store, opened afresh as often as a test likes."""

    open: Callable[[], Store]


def _sqlite(tmp_path: Path) -> Backend:
    path = tmp_path / "contract.sqlite3"
    return Backend(lambda: SqliteStore(path))


#: every backend, by name; each contract test runs once for each, unchanged
BACKENDS: dict[str, Callable[[Path], Backend]] = {"sqlite": _sqlite}


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    return BACKENDS[request.param](tmp_path)


@pytest.fixture
def store(backend: Backend) -> Iterator[Store]:
    opened = backend.open()
    yield opened
    opened.close()


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


def test_records_are_found_by_their_user_oldest_first(store: Store) -> None:
    store.upsert("device", "d2", {"n": 1}, sub="u1")
    store.upsert("device", "d1", {"n": 2}, sub="u1")
    store.upsert("device", "d3", {"n": 3}, sub="u2")
    store.upsert("code", "c1", {"n": 4}, sub="u1")  # another model
    store.upsert("device", "gone", {"n": 5}, sub="u1", expires_in=0)
    assert store.find_by_sub("device", "u1") == [("d2", {"n": 1}), ("d1", {"n": 2})]
    store.consume("device", "d1")
    assert store.find_by_sub("device", "u1")[1] == ("d1", {"n": 2, "consumed": True})
    store.destroy("device", "d2")
    assert [i for i, _ in store.find_by_sub("device", "u1")] == ["d1"]
    assert store.find_by_sub("device", "nobody") == []


def test_an_upsert_replaces_the_user_index_with_the_record(store: Store) -> None:
    store.upsert("device", "d1", {"n": 1}, sub="u1")
    store.upsert("device", "d1", {"n": 2}, sub="u2")
    assert store.find_by_sub("device", "u1") == []
    assert store.find_by_sub("device", "u2") == [("d1", {"n": 2})]


def test_records_are_found_by_the_time_they_were_first_kept(store: Store) -> None:
    before = time.time()
    store.upsert("audit", "a", {"n": 1})
    time.sleep(0.02)
    middle = time.time()
    store.upsert("audit", "b", {"n": 2})
    store.upsert("audit", "a", {"n": 3})  # an update keeps its first time
    store.upsert("other", "c", {"n": 4})
    assert store.find_since("audit", before) == [("a", {"n": 3}), ("b", {"n": 2})]
    assert store.find_since("audit", middle) == [("b", {"n": 2})]
    assert store.find_since("audit", time.time() + 1) == []


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


def test_data_survives_reopening(backend: Backend) -> None:
    first = backend.open()
    first.add_user(_user())
    first.hit("login-fail:user:bob", 600)
    first.close()
    second = backend.open()
    assert second.find_user("bob") == _user()
    assert second.count("login-fail:user:bob") == 1
    second.close()


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
