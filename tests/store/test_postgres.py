"""What only the PostgreSQL store has: its schema in a database of its own, the sweep of
expired rows, races between processes (two stores with pools of their own, as two
processes have), and a server that goes away and comes back."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest

from idp.cli import main
from idp.errors import AlreadyUsed, SchemaOutdated, StoreError, StoreUnavailable
from idp.store import SigningKey, User, postgres_schema
from idp.store.postgres import PostgresStore
from idp.store.wakeups import wait
from tests.servers.postgresql import PostgresServer
from tests.servers.processes import free_port

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def two(postgres_url: str) -> AsyncIterator[tuple[PostgresStore, PostgresStore]]:
    """Two stores on one database, each with a pool of its own: two processes."""
    first, second = PostgresStore(postgres_url), PostgresStore(postgres_url)
    yield first, second
    await first.close()
    await second.close()


def _rows(url: str, sql: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()  # type: ignore[arg-type]


def _config(tmp_path: Path, url: str) -> str:
    path = tmp_path / "idp.toml"
    path.write_text(f'[store]\nurl = "{url}"\n')
    return str(path)


_KEY = SigningKey(kid="k1", alg="RS256", private_jwk="{}", created_at=1)


async def test_an_empty_database_gets_the_schema_once(
    two: tuple[PostgresStore, PostgresStore], postgres_url: str
) -> None:
    await asyncio.gather(*(store.start() for store in two))  # nodes starting at once
    assert _rows(postgres_url, "SELECT version FROM idp_schema") == [(postgres_schema.latest(),)]
    await two[0].upsert("code", "c", {"n": 1})
    assert await two[1].find("code", "c") == {"n": 1}


def test_an_older_schema_is_refused_until_idp_db_upgrade(
    postgres_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    async def make() -> None:
        store = PostgresStore(postgres_url)
        await store.add_user(User(sub="s1", username="ann", password_hash="h"))
        await store.close()

    async def start() -> list[str]:
        store = PostgresStore(postgres_url)
        try:
            await store.start()
            return [u.username for u in await store.list_users()]
        finally:
            await store.close()

    asyncio.run(make())
    # the next version of the IdP adds a step to the schema
    step = "ALTER TABLE records ADD COLUMN note text"
    monkeypatch.setattr(postgres_schema, "MIGRATIONS", (*postgres_schema.MIGRATIONS, step))
    newer = postgres_schema.latest()
    with pytest.raises(SchemaOutdated, match=f"version {newer - 1}.*run `idp db upgrade`"):
        asyncio.run(start())
    config = _config(tmp_path, postgres_url)
    assert main(["--config", config, "users", "list"]) == 1
    assert "run `idp db upgrade`" in capsys.readouterr().err

    assert main(["--config", config, "db", "upgrade"]) == 0
    out = capsys.readouterr().out
    assert f"schema upgraded from version {newer - 1} to {newer}" in out
    assert "postgresql://postgres@127.0.0.1" in out
    assert asyncio.run(start()) == ["ann"]
    assert main(["--config", config, "db", "upgrade"]) == 0
    assert f"schema version {newer}, nothing to upgrade" in capsys.readouterr().out


def test_a_database_of_the_first_version_upgrades_to_one_that_uses_records_up(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first_only = postgres_schema.MIGRATIONS[:1]
    with monkeypatch.context() as earlier:  # as the version that had one step made it
        earlier.setattr(postgres_schema, "MIGRATIONS", first_only)

        async def make() -> None:
            store = PostgresStore(postgres_url)
            await store.upsert("refresh_token", "r", {"n": 1}, expires_in=60)
            await store.close()

        asyncio.run(make())
    assert _rows(postgres_url, "SELECT version FROM idp_schema") == [(1,)]
    assert main(["--config", _config(tmp_path, postgres_url), "db", "upgrade"]) == 0

    async def use_twice() -> None:
        store = PostgresStore(postgres_url)
        async with store.unit():
            await store.use_up("refresh_token", "r")
        with pytest.raises(AlreadyUsed):
            async with store.unit():
                await store.use_up("refresh_token", "r")
        await store.close()

    asyncio.run(use_twice())


def test_db_upgrade_of_an_unreachable_database_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"postgresql://idp:secret@127.0.0.1:{free_port()}/idp"
    assert main(["--config", _config(tmp_path, url), "db", "upgrade"]) == 1
    err = capsys.readouterr().err
    assert "the schema was not upgraded" in err and "cannot be reached" in err
    assert "secret" not in err


def test_serve_refuses_an_older_schema_with_the_command_to_run(
    tmp_path: Path, postgres_url: str
) -> None:
    async def make() -> None:
        store = PostgresStore(postgres_url)
        await store.start()
        await store.close()

    asyncio.run(make())
    with psycopg.connect(postgres_url) as conn:  # as a database an older version made
        conn.execute("UPDATE idp_schema SET version = version - 1")
    serve = [sys.executable, "-m", "idp.cli", "--config", _config(tmp_path, postgres_url)]
    serve += ["serve", "--port", str(free_port())]
    environ = {"PATH": "/usr/bin:/bin", "IDP_POCKET_ENCRYPTION_KEY": "A" * 43}
    done = subprocess.run(serve, capture_output=True, text=True, timeout=60, env=environ)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    line = done.stderr.strip().splitlines()[-1]
    assert line.startswith("idp: the store postgresql://") and "run `idp db upgrade`" in line


def test_commands_and_serve_on_an_unreachable_database_say_so_in_one_line(
    tmp_path: Path,
) -> None:
    url = f"postgresql://idp:secret@127.0.0.1:{free_port()}/idp"
    base = [sys.executable, "-m", "idp.cli", "--config", _config(tmp_path, url)]
    environ = {"PATH": "/usr/bin:/bin", "IDP_POCKET_ENCRYPTION_KEY": "A" * 43}
    for command in (["users", "list"], ["serve", "--port", str(free_port())]):
        done = subprocess.run(
            base + command, capture_output=True, text=True, timeout=60, env=environ
        )
        assert done.returncode == 1, (command, done.stderr)
        assert "Traceback" not in done.stderr and "secret" not in done.stderr, done.stderr
        said = [line for line in done.stderr.splitlines() if "INFO" not in line]
        assert len(said) == 1 and "cannot be reached" in said[0], (command, done.stderr)


#: a command that uses the store and returns without closing it, while the pool still
#: grows for the calls it made
_UNCLOSED = """
import asyncio, sys
from idp.store.postgres import PostgresStore

async def command():
    store = PostgresStore(sys.argv[1])
    await asyncio.gather(*(store.find("code", str(n)) for n in range(10)))

asyncio.run(command())
print("ended")
"""


def test_a_command_that_never_closes_the_store_still_ends(postgres_url: str) -> None:
    for _ in range(3):  # psycopg's pool tasks would keep asyncio.run waiting, mostly
        done = subprocess.run(
            [sys.executable, "-c", _UNCLOSED, postgres_url],
            capture_output=True,
            text=True,
            timeout=15,
        )
        assert (done.returncode, done.stdout) == (0, "ended\n"), done.stderr


def test_a_store_is_used_again_from_another_event_loop(postgres_url: str) -> None:
    """As code that runs no event loop of its own uses it: one asyncio.run per call."""
    store = PostgresStore(postgres_url)

    async def woken(key: str) -> bool:
        async with store.wakeups.listen(key) as event:
            await store.wakeups.wake(key)
            return await wait(event, 1)

    asyncio.run(store.upsert("code", "c", {"n": 1}))
    assert asyncio.run(store.find("code", "c")) == {"n": 1}
    assert asyncio.run(woken("k1"))
    assert asyncio.run(woken("k2"))
    asyncio.run(store.close())


async def test_expired_rows_are_swept_batch_after_batch(postgres_url: str) -> None:
    store = PostgresStore(postgres_url, sweep_every=0.05)
    async with store.unit():
        for n in range(1_200):  # more than two batches
            await store.upsert("code", f"old-{n}", {}, expires_in=0)
            if n % 400 == 0:
                await store.upsert("code", f"live-{n}", {}, expires_in=60)
    await store.hit("login-fail:gone", 0)
    await store.hit("login-fail:kept", 60)
    await store.start()
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            ids = [i for (i,) in _rows(postgres_url, "SELECT id FROM records ORDER BY id")]
            counters = _rows(postgres_url, "SELECT key FROM counters")
            if len(ids) == 3 and len(counters) == 1:
                break
            await asyncio.sleep(0.05)
    finally:
        await store.close()
    assert ids == ["live-0", "live-400", "live-800"]
    assert counters == [("login-fail:kept",)]


async def test_twenty_consumers_in_two_processes_one_winner(
    two: tuple[PostgresStore, PostgresStore],
) -> None:
    await asyncio.gather(*(store.start() for store in two))
    for round in range(5):
        await two[0].upsert("code", f"race-{round}", {"round": round}, expires_in=60)
        wins = await asyncio.gather(
            *(two[n % 2].consume("code", f"race-{round}") for n in range(20))
        )
        assert [win for win in wins if win is not None] == [{"round": round}]


async def test_units_in_two_processes_race_for_one_code(
    two: tuple[PostgresStore, PostgresStore],
) -> None:
    await two[0].upsert("code", "race", {}, expires_in=60)

    async def exchange(n: int) -> bool:
        store = two[n % 2]
        async with store.unit():
            if await store.consume("code", "race") is None:
                return False
            await asyncio.sleep(0.01)  # the others try meanwhile
            await store.upsert("access_token", f"t{n}", {"n": n}, expires_in=60)
            return True

    wins = await asyncio.gather(*(exchange(n) for n in range(20)))
    assert wins.count(True) == 1
    issued = [n for n in range(20) if await two[1].find("access_token", f"t{n}") is not None]
    assert issued == [wins.index(True)]


async def test_a_code_consumed_in_a_unit_that_fails_goes_to_the_other_process(
    two: tuple[PostgresStore, PostgresStore],
) -> None:
    first, second = two
    await first.upsert("code", "c", {"n": 1}, expires_in=60)
    consumed = asyncio.Event()

    async def failing() -> None:
        with pytest.raises(RuntimeError):
            async with first.unit():
                assert await first.consume("code", "c") == {"n": 1}
                consumed.set()
                await asyncio.sleep(0.3)  # the other one waits for this unit meanwhile
                raise RuntimeError("the tokens could not be issued")

    async def waiting() -> object:
        await consumed.wait()
        async with second.unit():
            return await second.consume("code", "c")

    _, got = await asyncio.gather(failing(), waiting())
    assert got == {"n": 1}
    assert await first.consume("code", "c") is None


async def test_a_unit_whose_statement_failed_cannot_commit(postgres_url: str) -> None:
    store = PostgresStore(postgres_url)
    await store.add_key(_KEY)
    with pytest.raises(StoreError, match="could not commit"):
        async with store.unit():
            await store.upsert("code", "c", {"n": 1})
            with pytest.raises(StoreError):
                await store.add_key(_KEY)  # the same kid again; the caller goes on
    assert await store.find("code", "c") is None
    await store.upsert("code", "d", {"n": 2})  # and the store goes on as before
    assert await store.find("code", "d") == {"n": 2}
    await store.close()


@pytest.fixture
def round_trips(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The statements of each round trip to PostgreSQL from now on (their first word):
    one alone, or those sent together in pipeline mode."""
    trips: list[list[str]] = []
    execute, pipeline = psycopg.AsyncConnection.execute, psycopg.AsyncConnection.pipeline
    in_pipeline: list[bool] = [False]

    async def counted(conn: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        verb = str(query).split()[0]
        if in_pipeline[0]:
            trips[-1].append(verb)
        else:
            trips.append([verb])
        return await execute(conn, query, *args, **kwargs)

    @asynccontextmanager
    async def pipelined(conn: Any) -> AsyncIterator[Any]:
        trips.append([])
        in_pipeline[0] = True
        try:
            async with pipeline(conn) as p:
                yield p
        finally:
            in_pipeline[0] = False

    monkeypatch.setattr(psycopg.AsyncConnection, "execute", counted)
    monkeypatch.setattr(psycopg.AsyncConnection, "pipeline", pipelined)
    return trips


async def test_held_back_writes_go_with_the_commit_in_one_round_trip(
    postgres_url: str, round_trips: list[list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A unit sends an upsert or a delete with its next statement or its commit; a unit
    whose only write is one of them needs no transaction."""
    store = PostgresStore(postgres_url)
    await store.start()
    trips = round_trips
    trips.clear()
    async with store.unit():  # a token endpoint's one token
        await store.upsert("access", "a1", {"n": 1})
    assert trips == [["INSERT"]]

    trips.clear()
    async with store.unit():  # a refresh: one rotated, two written
        await store.upsert("refresh", "r1", {"n": 1})
        assert await store.consume("refresh", "r1") == {"n": 1}
        await store.upsert("access", "a2", {"n": 2})
        await store.upsert("refresh", "r2", {"n": 2})
        await store.destroy("access", "a1")
    # the transaction begins in the round trip of the first statement that needs an answer
    assert trips == [["BEGIN", "INSERT", "UPDATE"], ["INSERT", "INSERT", "DELETE", "COMMIT"]]

    trips.clear()
    async with store.unit():  # a refresh as the token endpoint makes it: nothing to wait for
        await store.use_up("refresh", "r2")
        await store.upsert("access", "a3", {"n": 3})
        await store.upsert("refresh", "r3", {"n": 3})
    assert trips == [["BEGIN", "SELECT", "INSERT", "INSERT", "COMMIT"]]
    monkeypatch.undo()
    assert await store.find("refresh", "r2") == {"n": 2, "consumed": True}
    assert await store.find("refresh", "r3") == {"n": 3}
    assert await store.find("access", "a1") is None
    await store.close()


async def test_statements_of_tasks_running_at_once_share_one_round_trip_and_commit(
    postgres_url: str, round_trips: list[list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = PostgresStore(postgres_url)
    await store.start()
    round_trips.clear()

    async def issue(n: int) -> None:  # as a token endpoint does
        async with store.unit():
            await store.upsert("access", f"a{n}", {"n": n})

    await asyncio.gather(*(issue(n) for n in range(10)))
    assert round_trips == [["BEGIN", *["INSERT"] * 10, "COMMIT"]]

    round_trips.clear()
    found = await asyncio.gather(*(store.find("access", f"a{n}") for n in range(10)))
    assert found == [{"n": n} for n in range(10)]
    assert round_trips == [["BEGIN", *["SELECT"] * 10, "COMMIT"]]

    round_trips.clear()
    assert await store.find("access", "a1") == {"n": 1}  # a task alone goes alone
    assert round_trips == [["SELECT"]]
    monkeypatch.undo()
    await store.close()


async def test_a_statement_that_fails_in_a_shared_round_trip_fails_only_its_caller(
    postgres_url: str,
) -> None:
    """The others' statements land once each: nothing of the failed attempt is kept."""
    store = PostgresStore(postgres_url)
    await store.start()
    outcomes = await asyncio.gather(
        store.hit("tries", 60),
        store.upsert("co\x00de", "x", {"n": 1}),  # text cannot hold NUL
        store.upsert("code", "y", {"n": 2}),
        store.hit("tries", 60),
        return_exceptions=True,
    )
    assert outcomes[0] == 1 and outcomes[3] == 2 and outcomes[2] is None
    assert isinstance(outcomes[1], StoreError)
    assert await store.count("tries") == 2
    assert await store.find("code", "y") == {"n": 2}
    await store.close()


async def test_a_held_back_write_that_fails_fails_its_unit_whole(postgres_url: str) -> None:
    store = PostgresStore(postgres_url)
    for writes in (["fine", "co\x00de"], ["co\x00de"]):  # text cannot hold NUL
        with pytest.raises(StoreError):
            async with store.unit():
                for model in writes:
                    await store.upsert(model, "x", {"n": 1})
        assert await store.find("fine", "x") is None
    await store.upsert("fine", "y", {"n": 2})  # and the store goes on as before
    assert await store.find("fine", "y") == {"n": 2}
    await store.close()


async def test_a_wake_up_reaches_the_other_process_once_its_unit_lands(
    two: tuple[PostgresStore, PostgresStore],
) -> None:
    waiter, writer = two
    async with waiter.wakeups.listen("answered:c1") as woken:
        async with writer.unit():
            await writer.upsert("challenge", "c1", {"answer": "yes"})
            await writer.wakeups.wake("answered:c1")
            assert not await wait(woken, 0.2)  # not before the answer has landed
        assert await wait(woken, 2)
        assert await waiter.find("challenge", "c1") == {"answer": "yes"}


async def test_a_server_that_is_gone_fails_fast_and_is_used_again_once_back(
    postgres_server: PostgresServer, postgres_url: str
) -> None:
    store = PostgresStore(postgres_url, timeout=1)
    await store.start()
    await store.add_user(User(sub="s1", username="ann", password_hash="h"))
    async with store.wakeups.listen("answered:c1") as woken:
        with pytest.raises(StoreUnavailable):
            async with store.unit():
                await store.upsert("code", "c", {})
                postgres_server.kill()
        for call in (store.find_user("ann"), store.hit("login-fail:ann", 60)):
            began = time.monotonic()
            with pytest.raises(StoreUnavailable):  # within the timeout, never a hang
                await call
            assert time.monotonic() - began < 2

        postgres_server.start()
        deadline = time.monotonic() + 15
        while True:
            try:
                user = await store.find_user("ann")
                break
            except StoreUnavailable:
                assert time.monotonic() < deadline, "the store did not come back"
                await asyncio.sleep(0.1)
        assert user is not None and user.username == "ann"
        assert await store.find("code", "c") is None  # its unit never landed
        # the listening connection is back too: waiters were woken to look again
        assert await wait(woken, 10)
    other = PostgresStore(postgres_url)
    async with store.wakeups.listen("answered:c2") as woken:
        await other.wakeups.wake("answered:c2")
        assert await wait(woken, 2)
    await other.close()
    await store.close()


async def test_a_server_restarted_while_the_store_was_idle_costs_no_failed_call(
    postgres_server: PostgresServer, postgres_url: str
) -> None:
    store = PostgresStore(postgres_url)
    await store.add_user(User(sub="s1", username="ann", password_hash="h"))
    postgres_server.kill()  # the pooled connection breaks while nobody uses it
    postgres_server.start()
    began = time.monotonic()
    user = await store.find_user("ann")
    assert user is not None and user.username == "ann"
    assert time.monotonic() - began < 3
    await store.close()
