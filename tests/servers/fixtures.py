"""Fixtures for tests against real servers (a pytest plugin: tests/conftest.py loads it).

- `postgres_server` (session): one PostgreSQL cluster for the whole run;
  `postgres_url` (test): a fresh database on it, dropped afterwards.
- `redis_server` (session): one redis-server; `redis_url` (test): its database 0,
  emptied before the test.
- `start_redis`, `start_haproxy`, `start_idp_nodes` (test): start servers of the
  test's own, stopped when it ends.

When a test fails, the logs of the servers it used are shown with it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Generic, ParamSpec, Protocol, TypeVar

import pytest

from tests.servers.haproxy import HaproxyServer
from tests.servers.idp_nodes import CONFIG, IdpNodes
from tests.servers.postgresql import PostgresServer, running_postgres
from tests.servers.processes import HasLogs
from tests.servers.redis_server import RedisServer, running_redis

#: how much of each server's log a failed test shows
LOG_TAIL_LINES = 200


class StartedServer(HasLogs, Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...


Options = ParamSpec("Options")
Server = TypeVar("Server", bound=StartedServer)


class Starter(Generic[Options, Server]):
    """The value of a `start_*` fixture: calling it makes a server with `make` and starts
    it; every server it made is stopped when the test ends, and its logs are shown when
    the test fails, even one that failed to start."""

    def __init__(self, make: Callable[Options, Server]) -> None:
        self._make = make
        self.started: list[Server] = []

    def __call__(self, *args: Options.args, **kwargs: Options.kwargs) -> Server:
        server = self._make(*args, **kwargs)
        self.started.append(server)
        server.start()
        return server

    def logs(self) -> dict[str, str]:
        logs: dict[str, str] = {}
        for index, server in enumerate(self.started):
            for name, text in server.logs().items():
                logs[f"{name} ({index + 1})" if len(self.started) > 1 else name] = text
        return logs

    def stop_all(self) -> None:
        for server in reversed(self.started):
            server.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A failed test's report carries the tail of each log of the servers it used."""
    report = yield
    if report.failed and call.when in ("setup", "call"):
        for value in getattr(item, "funcargs", {}).values():
            if isinstance(value, HasLogs):
                for name, text in value.logs().items():
                    tail = "\n".join(text.splitlines()[-LOG_TAIL_LINES:])
                    report.sections.append((f"log of {name}", tail))
    return report


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL cluster for the run (starting one takes about a second)."""
    with running_postgres() as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """The URL of a new, empty database of its own; dropped after the test."""
    if not postgres_server.running:  # an earlier test killed it
        postgres_server.start()
    name = f"test_{uuid.uuid4().hex}"
    url = postgres_server.create_database(name)
    yield url
    if postgres_server.running:
        postgres_server.drop_database(name)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One redis-server for the run, keeping nothing on disk."""
    with running_redis(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """redis://127.0.0.1:PORT/0, every database emptied first."""
    if not redis_server.running:  # an earlier test killed it
        redis_server.start()
    redis_server.flush()
    return redis_server.url


@pytest.fixture
def start_redis(tmp_path: Path) -> Iterator[Starter[..., RedisServer]]:
    """`start_redis(persistent=False)`: a redis-server of the test's own."""

    def make(*, persistent: bool = False) -> RedisServer:
        folder = tmp_path / f"redis-{uuid.uuid4().hex[:8]}"
        folder.mkdir()
        return RedisServer(folder, persistent=persistent)

    starter = Starter(make)
    yield starter
    starter.stop_all()


@pytest.fixture
def start_haproxy(tmp_path: Path) -> Iterator[Starter[..., HaproxyServer]]:
    """`start_haproxy(backends, port=None, health_path=None, health_ports=None,
    health_interval=0.2)`: HAProxy round robin over `backends` ("127.0.0.1:PORT")."""

    def make(
        backends: Sequence[str],
        port: int | None = None,
        *,
        health_path: str | None = None,
        health_ports: Sequence[int] | None = None,
        health_interval: float = 0.2,
    ) -> HaproxyServer:
        folder = tmp_path / f"haproxy-{uuid.uuid4().hex[:8]}"
        folder.mkdir()
        return HaproxyServer(
            folder,
            backends,
            port,
            health_path=health_path,
            health_ports=health_ports,
            health_interval=health_interval,
        )

    starter = Starter(make)
    yield starter
    starter.stop_all()


@pytest.fixture
def start_idp_nodes(tmp_path: Path) -> Iterator[Starter[..., IdpNodes]]:
    """`start_idp_nodes(count, issuer=None, settings=None, config=CONFIG, workers=1,
    demo=False, access_log=False, management=False)`: `idp serve` processes sharing a
    configuration, an issuer and a store (see `IdpNodes`)."""

    def make(
        count: int,
        *,
        issuer: str | None = None,
        settings: Mapping[str, str] | None = None,
        config: Path = CONFIG,
        workers: int = 1,
        demo: bool = False,
        access_log: bool = False,
        management: bool = False,
    ) -> IdpNodes:
        folder = tmp_path / f"idp-{uuid.uuid4().hex[:8]}"
        return IdpNodes(
            folder,
            count,
            issuer=issuer,
            settings=settings,
            config=config,
            workers=workers,
            demo=demo,
            access_log=access_log,
            management=management,
        )

    starter = Starter(make)
    yield starter
    starter.stop_all()
