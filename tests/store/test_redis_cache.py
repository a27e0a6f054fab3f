"""What only a PostgreSQL store with a Redis cache has: short-lived records and counters in
Redis with lifetimes of their own, single use across processes (two stores, each with
connections of its own, as two processes have), wake-ups through pub/sub, the start-up
check of Redis's eviction policy, and a Redis that goes away and comes back."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from redis.asyncio import Redis

from idp.errors import StoreError, StoreUnavailable
from idp.store.cached import CachedStore, open_cached
from idp.store.postgres import PostgresStore
from idp.store.redis_cache import RedisCache
from idp.store.redis_connections import RedisConnections
from idp.store.redis_wakeups import RedisWakeups
from idp.store.short_lived import SHORT_LIVED_MODELS
from idp.store.wakeups import wait
from tests.servers.fixtures import Starter
from tests.servers.processes import free_port
from tests.servers.redis_server import RedisServer

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def two(postgres_url: str, redis_url: str) -> AsyncIterator[tuple[CachedStore, CachedStore]]:
    """Two stores on one database and one Redis, each with connections of its own."""
    first, second = open_cached(postgres_url, redis_url), open_cached(postgres_url, redis_url)
    await asyncio.gather(first.start(), second.start())
    yield first, second
    await first.close()
    await second.close()


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    """A plain client, to look at what the store keeps."""
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


def _records_in_postgres(url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT model, id FROM records ORDER BY model, id").fetchall()


async def test_twenty_consumers_in_two_processes_one_winner(
    two: tuple[CachedStore, CachedStore], postgres_url: str
) -> None:
    for round in range(5):
        await two[0].upsert("code", f"race-{round}", {"round": round}, expires_in=60)
        wins = await asyncio.gather(
            *(two[n % 2].consume("code", f"race-{round}") for n in range(20))
        )
        assert [win for win in wins if win is not None] == [{"round": round}]
        assert await two[1].find("code", f"race-{round}") == {"round": round, "consumed": True}
    assert _records_in_postgres(postgres_url) == []


async def test_short_lived_records_go_to_redis_and_the_rest_to_postgresql(
    two: tuple[CachedStore, CachedStore], postgres_url: str, redis: Redis
) -> None:
    store = two[0]
    pocket = store.records("pocket")
    await store.upsert("code", "c1", {}, expires_in=60, grant_id="g1")
    await store.upsert("access_token", "a1", {}, expires_in=60, grant_id="g1")
    await pocket.upsert("challenge", "ch1", {}, expires_in=120, sub="u1")
    await pocket.upsert("device", "d1", {}, sub="u1")
    await store.hit("login-fail:user:bob", 60)
    assert _records_in_postgres(postgres_url) == [("access_token", "a1"), ("pocket-device", "d1")]
    keys = {key.decode() async for key in redis.scan_iter(match="idp:*")}
    assert {"idp:r:code:c1", "idp:r:pocket-challenge:ch1", "idp:c:login-fail:user:bob"} <= keys
    assert not any("access_token" in key or "pocket-device" in key for key in keys)
    # a grant is revoked in both
    assert await two[1].revoke_by_grant_id("g1") == 2
    assert await store.find("code", "c1") is None
    assert await store.find("access_token", "a1") is None


async def test_every_key_kept_in_redis_has_its_lifetime(
    two: tuple[CachedStore, CachedStore], redis: Redis
) -> None:
    store = two[0]
    pocket = store.records("pocket")
    await store.upsert("code", "c1", {}, expires_in=60, grant_id="g1", sub="u1")
    await store.consume("code", "c1")
    await store.upsert("login", "l1", {}, expires_in=600)
    await pocket.upsert("challenge", "ch2", {}, expires_in=30, sub="u1")
    await pocket.upsert("challenge", "ch1", {}, expires_in=120, sub="u1")  # the index: 120
    await pocket.upsert("challenge", "ch3", {}, expires_in=30, sub="u1")  # and keeps it
    async with store.unit():
        await store.hit("signing-keys:ensure", 60)
        await pocket.upsert("paired", "p1", {}, expires_in=90)
    await store.hit("login-fail:user:bob", 300)
    await pocket.hit("push:u1", 900)
    await store.release("login-fail:user:bob")  # a release keeps the window
    wanted = {
        "idp:r:code:c1": 60,
        "idp:s:code:u1": 60,
        "idp:g:g1": 60,
        "idp:r:login:l1": 600,
        "idp:r:pocket-challenge:ch1": 120,
        "idp:r:pocket-challenge:ch2": 30,
        "idp:r:pocket-challenge:ch3": 30,
        "idp:s:pocket-challenge:u1": 120,
        "idp:r:pocket-paired:p1": 90,
        "idp:c:signing-keys:ensure": 60,
        "idp:c:login-fail:user:bob": 300,
        "idp:c:pocket-push:u1": 900,
    }
    found = {key.decode(): await redis.pttl(key) async for key in redis.scan_iter(match="*")}
    assert found.keys() == wanted.keys()  # the unit's turn was given back
    for key, seconds in wanted.items():
        assert seconds * 1000 - 2000 < found[key] <= seconds * 1000, key


async def test_writes_of_a_unit_land_in_redis_once_postgresql_has_committed(
    two: tuple[CachedStore, CachedStore],
) -> None:
    store, other = two
    await store.upsert("code", "c", {"n": 1}, expires_in=60)
    inside, landed = asyncio.Event(), asyncio.Event()
    seen: list[object] = []

    async def exchange() -> None:
        async with store.unit():
            assert await store.consume("code", "c") == {"n": 1}
            await store.upsert("access_token", "t", {"n": 1}, expires_in=60)
            await store.records("pocket").upsert("outcome", "o", {"n": 1}, expires_in=60)
            seen.append(await store.records("pocket").find("outcome", "o"))
            inside.set()
            await landed.wait()

    async def look() -> None:
        await inside.wait()
        seen.append(await other.find("code", "c"))  # consumed at once: the single-use guard
        seen.append(await other.records("pocket").find("outcome", "o"))  # held back
        landed.set()

    await asyncio.gather(exchange(), look())
    assert seen == [{"n": 1}, {"n": 1, "consumed": True}, None]
    assert await other.records("pocket").find("outcome", "o") == {"n": 1}
    assert await other.find("access_token", "t") == {"n": 1}


async def test_a_code_consumed_in_a_unit_that_fails_stays_used(
    two: tuple[CachedStore, CachedStore],
) -> None:
    """Unlike PostgreSQL alone, Redis does not roll back with the unit: a consumed code
    is told used to the next try (never issued twice); the rest of the unit is undone."""
    first, second = two
    await first.upsert("code", "c", {"n": 1}, expires_in=60)
    with pytest.raises(RuntimeError):
        async with first.unit():
            assert await first.consume("code", "c") == {"n": 1}
            await first.upsert("access_token", "t", {}, expires_in=60)
            await first.upsert("login", "l", {}, expires_in=60)
            raise RuntimeError("midway")
    assert await second.consume("code", "c") is None
    assert await second.find("access_token", "t") is None
    assert await second.find("login", "l") is None


async def test_units_in_two_processes_take_turns_on_a_counter(
    two: tuple[CachedStore, CachedStore],
) -> None:
    """A `hit` on an agreed counter orders units in any process (Store.unit): what the
    keys' and the demo's start-up rely on, now that counters are in Redis."""
    spans: list[tuple[str, float, float]] = []

    async def ensure(store: CachedStore, name: str) -> None:
        async with store.unit():
            await store.hit("signing-keys:ensure", 60)
            began = time.monotonic()
            await asyncio.sleep(0.2)
            spans.append((name, began, time.monotonic()))

    await asyncio.gather(ensure(two[0], "first"), ensure(two[1], "second"))
    (_, _, first_ended), (_, second_began, _) = sorted(spans, key=lambda s: s[1])
    assert second_began >= first_ended, spans
    assert await two[0].count("signing-keys:ensure") == 2


async def test_a_wake_up_crosses_processes_through_pub_sub_once_its_unit_lands(
    two: tuple[CachedStore, CachedStore], redis: Redis
) -> None:
    waiter, answerer = two
    pocket = waiter.records("pocket")
    subscribed = await redis.pubsub_numsub(waiter.wakeups.redis.channel)
    assert subscribed == [(waiter.wakeups.redis.channel.encode(), 2)]  # one per store
    async with pocket.wakeups.listen("answered:c1") as woken:
        async with answerer.unit():
            await answerer.records("pocket").upsert("outcome", "c1", {"a": "yes"}, 60)
            await answerer.records("pocket").wakeups.wake("answered:c1")
            assert not await wait(woken, 0.2)  # not before the answer has landed
        assert await wait(woken, 2)
        assert await pocket.find("outcome", "c1") == {"a": "yes"}


async def test_an_allkeys_eviction_policy_is_refused_at_start(
    start_redis: Starter[..., RedisServer], postgres_url: str
) -> None:
    server = start_redis()
    client = Redis.from_url(server.url)
    await client.config_set("maxmemory-policy", "allkeys-lru")
    store = open_cached(postgres_url, server.url)
    with pytest.raises(StoreError) as refused:
        await store.start()
    await store.close()
    assert "maxmemory-policy allkeys-lru" in str(refused.value)
    assert "`maxmemory-policy noeviction`" in str(refused.value)

    for policy in ("noeviction", "volatile-ttl"):
        await client.config_set("maxmemory-policy", policy)
        store = open_cached(postgres_url, server.url)
        await store.start()
        await store.close()

    # a Redis that does not let this user read its configuration is trusted
    await client.config_set("maxmemory-policy", "allkeys-lru")
    await client.acl_setuser(
        "idp",
        enabled=True,
        passwords=["+secret"],
        keys=["*"],
        channels=["*"],
        commands=["+@all", "-config"],
    )
    limited = f"redis://idp:secret@127.0.0.1:{server.port}/0"
    store = open_cached(postgres_url, limited)
    await store.start()
    await store.upsert("code", "c", {}, expires_in=60)
    assert await store.consume("code", "c") == {}
    await store.close()
    await client.aclose()


async def test_a_redis_that_is_gone_fails_fast_and_is_used_again_once_back(
    start_redis: Starter[..., RedisServer], postgres_url: str
) -> None:
    server = start_redis()
    connections = RedisConnections(server.url, timeout=1)
    store = CachedStore(
        PostgresStore(postgres_url, listen=False),
        RedisCache(connections),
        RedisWakeups(connections),
    )
    await store.start()
    await store.upsert("login", "l", {"n": 1}, expires_in=60)
    async with store.wakeups.listen("answered:c1") as woken:
        server.kill()
        calls: list[Callable[[], Any]] = [
            lambda: store.find("login", "l"),
            lambda: store.consume("code", "c"),
            lambda: store.hit("login-fail:ann", 60),
            lambda: store.upsert("login", "m", {}, expires_in=60),
        ]
        for call in calls:
            began = time.monotonic()
            with pytest.raises(StoreUnavailable):  # within the timeout, never a hang
                await call()
            assert time.monotonic() - began < 2
        assert await store.find("access_token", "t") is None  # PostgreSQL goes on

        server.start()  # empty: nothing was kept on disk
        deadline = time.monotonic() + 15
        while True:
            try:
                await store.upsert("code", "c", {"n": 2}, expires_in=60)
                break
            except StoreUnavailable:
                assert time.monotonic() < deadline, "the cache did not come back"
                await asyncio.sleep(0.1)
        assert await store.consume("code", "c") == {"n": 2}
        assert await store.hit("login-fail:ann", 60) == 1
        # the subscription is back too: waiters were woken to look again
        assert await wait(woken, 10)
    other = open_cached(postgres_url, server.url)
    async with store.wakeups.listen("answered:c2") as woken:
        await other.wakeups.wake("answered:c2")
        assert await wait(woken, 2)
    await other.close()
    await store.close()


def test_serve_with_a_cache_that_cannot_be_reached_says_so_in_one_line(
    tmp_path: Path, postgres_url: str
) -> None:
    config = tmp_path / "idp.toml"
    config.write_text(f'[store]\nurl = "{postgres_url}"\n')
    environ = {
        "PATH": "/usr/bin:/bin",
        "IDP_POCKET_ENCRYPTION_KEY": "A" * 43,
        "IDP_STORE_CACHE": f"redis://:secret@127.0.0.1:{free_port()}/0",
    }
    serve = [sys.executable, "-m", "idp.cli", "--config", str(config), "serve"]
    done = subprocess.run(
        [*serve, "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=60,
        env=environ,
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and "secret" not in done.stderr, done.stderr
    said = [line for line in done.stderr.splitlines() if "INFO" not in line]
    assert len(said) == 1 and "the cache redis://127.0.0.1:" in said[0], done.stderr
    assert "cannot be reached" in said[0]


def test_the_registry_names_the_models_the_code_writes() -> None:
    """Every short-lived model is one the provider or the Pocket plugin writes, under the
    name the store keeps it by."""
    from idp.oidc.server import CODE
    from plugins.pocket_mfa import manage, pairings, push_attempts, setups, wizard
    from plugins.pocket_mfa.push import challenges, pairing

    plugin = [
        challenges.CHALLENGE_MODEL,
        challenges.OUTCOME_MODEL,
        pairing.PAIRING_MODEL,
        pairing.PAIRED_MODEL,
        push_attempts.ATTEMPT_MODEL,
        pairings.MODEL,
        setups.MODEL,
        wizard.PROOF_MODEL,
        manage.PAGE_MODEL,
        manage.REMOVED_MODEL,
    ]
    core = [CODE, "login", "logout", "account_login", "demo"]
    assert sorted(SHORT_LIVED_MODELS) == sorted(core + [f"pocket-{m}" for m in plugin])
