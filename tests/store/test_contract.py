"""The storage contract: every backend must pass these, unchanged (what only one backend
has is tested beside it, as in test_sqlite.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from idp.errors import AlreadyUsed, Conflict
from idp.store import Client, SigningKey, Store, User
from idp.store.cached import open_cached
from idp.store.postgres import PostgresStore
from idp.store.sqlite import SqliteStore
from idp.store.wakeups import wait


@dataclass
class Backend:
    """One backend's store, opened afresh as often as a test likes."""

    open: Callable[[], Store]


def _sqlite(request: pytest.FixtureRequest) -> Backend:
    path = request.getfixturevalue("tmp_path") / "contract.sqlite3"
    return Backend(lambda: SqliteStore(path))


def _postgres(request: pytest.FixtureRequest) -> Backend:
    url = request.getfixturevalue("postgres_url")  # a new database on the test cluster
    return Backend(lambda: PostgresStore(url))


def _postgres_with_redis(request: pytest.FixtureRequest) -> Backend:
    url = request.getfixturevalue("postgres_url")
    cache = request.getfixturevalue("redis_url")  # emptied for the test
    return Backend(lambda: open_cached(url, cache))


pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


#: every backend, by name; each contract test runs once for each, unchanged
BACKENDS: dict[str, Callable[[pytest.FixtureRequest], Backend]] = {
    "sqlite": _sqlite,
    "postgresql": _postgres,
    "postgresql+redis": _postgres_with_redis,
}


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest) -> Backend:
    return BACKENDS[request.param](request)


@pytest.fixture
async def store(backend: Backend) -> AsyncIterator[Store]:
    opened = backend.open()
    yield opened
    await opened.close()


def _user(username: str = "bob") -> User:
    return User(sub=f"sub-{username}", username=username, password_hash="h", name="Bob")


async def test_users_round_trip_and_unique_username(store: Store) -> None:
    await store.add_user(_user())
    assert await store.find_user("bob") == _user()
    assert await store.get_user("sub-bob") == _user()
    with pytest.raises(Conflict):
        await store.add_user(User(sub="other", username="bob", password_hash="x"))
    assert [u.username for u in await store.list_users()] == ["bob"]
    assert await store.remove_user("sub-bob") is True
    assert await store.remove_user("sub-bob") is False
    assert await store.find_user("bob") is None


async def test_user_address_survives_storage(store: Store) -> None:
    user = User(sub="s", username="ann", password_hash="h", address={"locality": "Leusden"})
    await store.add_user(user)
    assert await store.get_user("s") == user


async def test_clients_round_trip(store: Store) -> None:
    client = Client(client_id="c1", name="One", redirect_uris=("https://a/cb", "https://b/cb"))
    await store.add_client(client)
    assert await store.get_client("c1") == client
    with pytest.raises(Conflict):
        await store.add_client(client)
    assert await store.remove_client("c1") is True
    assert await store.get_client("c1") is None


async def test_a_disabled_user_stays_disabled(store: Store) -> None:
    await store.add_user(_user())
    await store.update_user(replace(_user(), disabled=True))
    found = await store.get_user("sub-bob")
    assert found is not None and found.disabled


async def test_users_come_in_pages_by_username(store: Store) -> None:
    for username in ("dave", "ann", "carl", "bob", "eve"):
        await store.add_user(_user(username))
    first = await store.page_users("", 2)
    assert [u.username for u in first] == ["ann", "bob"]
    rest = await store.page_users("bob", 10)
    assert [u.username for u in rest] == ["carl", "dave", "eve"]
    assert await store.page_users("eve", 10) == []


async def test_a_search_finds_users_by_username_name_or_email(store: Store) -> None:
    await store.add_user(User(sub="1", username="alice", password_hash="h", name="Alice Smit"))
    await store.add_user(User(sub="2", username="bert", password_hash="h", email="B@SMITH.org"))
    await store.add_user(User(sub="3", username="cor", password_hash="h", name="Cor"))
    await store.add_user(User(sub="4", username="smitty", password_hash="h"))
    found = await store.page_users("", 10, search="SMIT")
    assert [u.username for u in found] == ["alice", "bert", "smitty"]
    assert [u.username for u in await store.page_users("alice", 1, search="smit")] == ["bert"]
    assert await store.page_users("", 10, search="nobody") == []


async def test_a_client_is_updated_in_place(store: Store) -> None:
    client = Client(client_id="c1", name="One", redirect_uris=("https://a/cb",))
    await store.add_client(client)
    assert await store.get_client("c1") == client  # now in the backend's client cache
    changed = replace(client, name="Uno", redirect_uris=("https://b/cb",))
    assert await store.update_client(changed) is True
    assert await store.get_client("c1") == changed
    assert await store.update_client(replace(client, client_id="none")) is False
    assert await store.get_client("none") is None


async def test_keys_round_trip(store: Store) -> None:
    key = SigningKey(kid="k1", alg="RS256", private_jwk="{}", created_at=1)
    await store.add_key(key)
    rotated = SigningKey(kid="k1", alg="RS256", private_jwk="{}", created_at=1, rotated_at=5)
    await store.update_key(rotated)
    assert await store.list_keys() == [rotated]


async def test_records_expire(store: Store) -> None:
    await store.upsert("code", "a", {"x": 1}, expires_in=1)
    await store.upsert("code", "b", {"x": 2})
    assert await store.find("code", "a") == {"x": 1}
    await asyncio.sleep(1.1)
    assert await store.find("code", "a") is None
    assert await store.consume("code", "a") is None
    assert await store.find("code", "b") == {"x": 2}


async def test_consume_is_single_use_and_visible(store: Store) -> None:
    await store.upsert("code", "a", {"x": 1}, expires_in=60)
    assert await store.consume("code", "a") == {"x": 1}
    assert await store.consume("code", "a") is None
    assert await store.find("code", "a") == {"x": 1, "consumed": True}


async def test_consume_under_contention_succeeds_once(store: Store) -> None:
    await store.upsert("code", "race", {}, expires_in=60)
    wins = await asyncio.gather(*(store.consume("code", "race") for _ in range(20)))
    assert sum(win is not None for win in wins) == 1


async def test_consume_inside_concurrent_units_succeeds_once(store: Store) -> None:
    await store.upsert("code", "race", {}, expires_in=60)

    async def exchange(n: int) -> bool:
        async with store.unit():
            if await store.consume("code", "race") is None:
                return False
            await asyncio.sleep(0)  # others run while this unit is open
            await store.upsert("access_token", f"t{n}", {"n": n}, expires_in=60)
            return True

    wins = await asyncio.gather(*(exchange(n) for n in range(20)))
    assert wins.count(True) == 1
    issued = [n for n in range(20) if await store.find("access_token", f"t{n}") is not None]
    assert issued == [wins.index(True)]


async def test_use_up_lands_with_its_unit_for_one_of_many(store: Store) -> None:
    for model in ("code", "refresh_token"):  # (short-lived and durable with a cache)
        await store.upsert(model, "race", {"n": 1}, expires_in=60)

        async def exchange(n: int, model: str = model) -> bool:
            try:
                async with store.unit():
                    await store.use_up(model, "race")
                    await asyncio.sleep(0)  # others run while this unit is open
                    await store.upsert("access_token", f"{model}-{n}", {"n": n}, 60)
            except AlreadyUsed as used:
                assert (used.model, used.id) == (model, "race")
                return False
            return True

        wins = await asyncio.gather(*(exchange(n) for n in range(20)))
        assert wins.count(True) == 1
        issued = [n for n in range(20) if await store.find("access_token", f"{model}-{n}")]
        assert issued == [wins.index(True)]
        assert await store.find(model, "race") == {"n": 1, "consumed": True}
        with pytest.raises(AlreadyUsed):  # outside a unit, as inside
            await store.use_up(model, "race")


async def test_use_up_of_a_record_that_is_gone_lands_nothing(store: Store) -> None:
    with pytest.raises(AlreadyUsed):
        async with store.unit():
            await store.upsert("access_token", "t", {"n": 1}, expires_in=60)
            await store.use_up("refresh_token", "never-kept")
    assert await store.find("access_token", "t") is None


async def test_a_durable_record_used_up_by_a_unit_that_fails_stays_unused(store: Store) -> None:
    await store.upsert("refresh_token", "r", {"n": 1}, expires_in=60)
    with pytest.raises(RuntimeError):
        async with store.unit():
            await store.use_up("refresh_token", "r")
            raise RuntimeError("midway")
    assert await store.find("refresh_token", "r") == {"n": 1}
    await store.use_up("refresh_token", "r")
    assert await store.find("refresh_token", "r") == {"n": 1, "consumed": True}


async def test_revoke_by_grant_id_removes_the_family(store: Store) -> None:
    await store.upsert("access_token", "a1", {}, expires_in=60, grant_id="g1")
    await store.upsert("refresh_token", "r1", {}, expires_in=60, grant_id="g1")
    await store.upsert("access_token", "a2", {}, expires_in=60, grant_id="g2")
    assert await store.revoke_by_grant_id("g1") == 2
    assert await store.find("access_token", "a1") is None
    assert await store.find("refresh_token", "r1") is None
    assert await store.find("access_token", "a2") == {}


async def test_upsert_replaces_and_destroy_removes(store: Store) -> None:
    await store.upsert("login", "l", {"v": 1}, expires_in=60)
    await store.upsert("login", "l", {"v": 2}, expires_in=60)
    assert await store.find("login", "l") == {"v": 2}
    await store.destroy("login", "l")
    assert await store.find("login", "l") is None


async def test_records_are_found_by_their_user_oldest_first(store: Store) -> None:
    await store.upsert("device", "d2", {"n": 1}, sub="u1")
    await store.upsert("device", "d1", {"n": 2}, sub="u1")
    await store.upsert("device", "d3", {"n": 3}, sub="u2")
    await store.upsert("code", "c1", {"n": 4}, sub="u1")  # another model
    await store.upsert("device", "gone", {"n": 5}, sub="u1", expires_in=0)
    assert await store.find_by_sub("device", "u1") == [("d2", {"n": 1}), ("d1", {"n": 2})]
    await store.consume("device", "d1")
    assert (await store.find_by_sub("device", "u1"))[1] == ("d1", {"n": 2, "consumed": True})
    await store.destroy("device", "d2")
    assert [i for i, _ in await store.find_by_sub("device", "u1")] == ["d1"]
    assert await store.find_by_sub("device", "nobody") == []


async def test_an_upsert_replaces_the_user_index_with_the_record(store: Store) -> None:
    await store.upsert("device", "d1", {"n": 1}, sub="u1")
    await store.upsert("device", "d1", {"n": 2}, sub="u2")
    assert await store.find_by_sub("device", "u1") == []
    assert await store.find_by_sub("device", "u2") == [("d1", {"n": 2})]


async def test_records_are_found_by_the_time_they_were_first_kept(store: Store) -> None:
    before = time.time()
    await store.upsert("audit", "a", {"n": 1})
    await asyncio.sleep(0.02)
    middle = time.time()
    await store.upsert("audit", "b", {"n": 2})
    await store.upsert("audit", "a", {"n": 3})  # an update keeps its first time
    await store.upsert("other", "c", {"n": 4})
    assert await store.find_since("audit", before) == [("a", {"n": 3}), ("b", {"n": 2})]
    assert await store.find_since("audit", middle) == [("b", {"n": 2})]
    assert await store.find_since("audit", time.time() + 1) == []


async def test_keys_may_hold_any_character(store: Store) -> None:
    """What a client sends ends up in keys (a code, a username in a counter's name): a
    NUL or a backslash in it is a key like any other, and keys stay apart."""
    odd = ("a\x00b", "a\\0b", "a\\\x00b", "a\\\\0b")
    for n, key in enumerate(odd):
        await store.upsert("code", key, {"n": n}, sub=key, grant_id=key)
        assert await store.hit(f"login-fail:user:{key}", 60) == 1
    for n, key in enumerate(odd):
        assert await store.find("code", key) == {"n": n}
        assert await store.find_by_sub("code", key) == [(key, {"n": n})]
        assert await store.count(f"login-fail:user:{key}") == 1
    assert await store.revoke_by_grant_id(odd[0]) == 1
    assert await store.consume("code", odd[0]) is None
    assert await store.consume("code", odd[1]) == {"n": 1}
    user = User(sub="s\x00", username="bob\x00", password_hash="h")
    await store.add_user(user)
    assert await store.find_user("bob\x00") == user
    assert await store.find_user("bob") is None


async def test_counters_count_within_window_and_reset(store: Store) -> None:
    assert await store.hit("k", 1) == 1
    assert await store.hit("k", 1) == 2
    assert await store.count("k") == 2
    await asyncio.sleep(1.1)
    assert await store.count("k") == 0
    assert await store.hit("k", 60) == 1
    await store.clear("k")
    assert await store.count("k") == 0


async def test_a_released_hit_is_given_back_but_never_below_zero(store: Store) -> None:
    await store.hit("k", 60)
    await store.hit("k", 60)
    await store.release("k")
    assert await store.count("k") == 1
    await store.release("k")
    await store.release("k")
    await store.release("absent")
    assert await store.count("k") == 0
    assert await store.count("absent") == 0
    assert await store.hit("k", 60) == 1


async def test_concurrent_hits_each_get_their_own_count(store: Store) -> None:
    counts = await asyncio.gather(*(store.hit("race", 60) for _ in range(40)))
    assert sorted(counts) == list(range(1, 41))


async def test_data_survives_reopening(backend: Backend) -> None:
    first = backend.open()
    await first.add_user(_user())
    await first.hit("login-fail:user:bob", 600)
    await first.close()
    second = backend.open()
    assert await second.find_user("bob") == _user()
    assert await second.count("login-fail:user:bob") == 1
    await second.close()


async def test_a_unit_lands_together_or_not_at_all(store: Store) -> None:
    async with store.unit():
        await store.upsert("code", "a", {"n": 1})
        async with store.unit():  # joins the outer one
            await store.upsert("code", "b", {"n": 2})
        assert await store.consume("code", "a") == {"n": 1}
    assert await store.find("code", "a") == {"n": 1, "consumed": True}
    assert await store.find("code", "b") == {"n": 2}

    with pytest.raises(RuntimeError):
        async with store.unit():
            await store.upsert("code", "c", {"n": 3})
            await store.destroy("code", "b")
            await store.consume("code", "a")
            raise RuntimeError("midway")
    assert await store.find("code", "c") is None
    assert await store.find("code", "b") == {"n": 2}
    await store.upsert("code", "d", {"n": 4})  # and the store goes on as before
    assert await store.find("code", "d") == {"n": 4}


async def test_a_unit_reads_its_own_writes_and_others_do_not_before_it_lands(
    store: Store,
) -> None:
    inside = asyncio.Event()
    landed = asyncio.Event()
    seen: list[object] = []

    async def writer() -> None:
        async with store.unit():
            await store.upsert("code", "w", {"n": 1})
            seen.append(await store.find("code", "w"))
            inside.set()
            await landed.wait()

    async def reader() -> None:
        await inside.wait()
        seen.append(await store.find("code", "w"))
        landed.set()

    await asyncio.gather(writer(), reader())
    assert seen == [{"n": 1}, None]
    assert await store.find("code", "w") == {"n": 1}


async def test_plugins_see_only_their_own_records(store: Store) -> None:
    mine, theirs = store.records("pocket"), store.records("other")
    await mine.upsert("device", "d1", {"n": 1}, sub="u1")
    assert await mine.find("device", "d1") == {"n": 1}
    assert await theirs.find("device", "d1") is None
    assert await store.find("device", "d1") is None
    assert await mine.find_by_sub("device", "u1") == [("d1", {"n": 1})]
    assert await mine.hit("fail:u1", 60) == 1
    assert await theirs.count("fail:u1") == 0
    assert await store.count("fail:u1") == 0


async def test_a_wake_up_reaches_whoever_listens_on_its_key(store: Store) -> None:
    pocket = store.records("pocket")
    async with (
        pocket.wakeups.listen("answered:c1") as woken,
        store.wakeups.listen("answered:c1") as other_namespace,
    ):
        await pocket.wakeups.wake("answered:c1")
        assert await wait(woken, 2)
        assert not other_namespace.is_set()
    async with pocket.wakeups.listen("answered:c2") as unrelated:
        await pocket.wakeups.wake("answered:c1")
        assert not await wait(unrelated, 0.05)


async def test_a_stopping_process_wakes_every_waiter_and_lets_none_wait_again(
    store: Store,
) -> None:
    pocket = store.records("pocket")
    async with pocket.wakeups.listen("paired:t1") as waiting:
        store.wakeups.stop_waiting()
        assert await wait(waiting, 2)
    async with store.wakeups.listen("answered:c9") as later:
        assert later.is_set()


async def test_a_whole_store_moves_into_another_and_nothing_is_lost(
    store: Store, tmp_path: Path
) -> None:
    await store.add_user(_user())
    await store.add_client(Client(client_id="c1", name="One", redirect_uris=("https://a/cb",)))
    await store.add_key(SigningKey(kid="k1", alg="RS256", private_jwk="{}", created_at=1))
    await store.upsert("code", "a", {"n": 1}, expires_in=60, grant_id="g1", sub="sub-bob")
    await store.upsert("consent", "sub-bob:c1", {"scope": ["openid"]}, sub="sub-bob")
    await store.consume("code", "a")
    await store.upsert("code", "gone", {}, expires_in=0)
    await store.hit("login-fail:user:bob", 600)
    snapshot = await store.export_all()

    target = SqliteStore(tmp_path / "target.sqlite3")
    await target.import_all(snapshot)
    again = await target.export_all()
    await target.close()

    assert (
        again.counts()
        == snapshot.counts()
        == {
            "users": 1,
            "clients": 1,
            "signing keys": 1,
            "counters": 1,
            "records code": 1,
            "records consent": 1,
        }
    )
    assert again.records == snapshot.records
    assert again.users == [_user()]
