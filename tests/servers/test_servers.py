"""The real servers of the tests: PostgreSQL, Redis, HAProxy and `idp serve` nodes."""

from __future__ import annotations

import http.client
import os
import pwd
import re
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import psycopg
import pytest
import redis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from tests.served import serve
from tests.servers.fixtures import Starter
from tests.servers.haproxy import HaproxyServer
from tests.servers.idp_nodes import IdpNodes
from tests.servers.postgresql import PostgresServer
from tests.servers.processes import HOST, free_port, port_answers, require_binary
from tests.servers.redis_server import RedisServer


def os_user_of(pid: int) -> str:
    """Name of the user a process runs as."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return pwd.getpwuid(int(line.split()[1])).pw_name
    raise AssertionError(f"no Uid line for {pid}")


def test_a_missing_binary_skips_with_the_package_that_ci_installs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install -y haproxy"):
        require_binary("/nonexistent/haproxy", "haproxy")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"\(.ci/run does\)"):
        require_binary("/nonexistent/haproxy", "haproxy")


# PostgreSQL


def test_postgres_serves_on_loopback_only_as_an_unprivileged_user(
    postgres_server: PostgresServer, postgres_url: str
) -> None:
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("select 1").fetchone() == (1,)
        assert conn.execute("show listen_addresses").fetchone() == (HOST,)
        assert conn.execute("show unix_socket_directories").fetchone() == ("",)
        assert conn.execute("show fsync").fetchone() == ("on",)
    expected = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
    assert os_user_of(postgres_server.pid) == expected
    assert postgres_url.startswith(f"postgresql://postgres@{HOST}:{postgres_server.port}/test_")


def test_postgres_databases_are_separate_and_dropped(postgres_server: PostgresServer) -> None:
    first = postgres_server.create_database("separate_one")
    second = postgres_server.create_database("separate_two")
    try:
        with psycopg.connect(first) as conn:
            conn.execute("create table only_here (id int)")
        with psycopg.connect(second) as conn:
            found = conn.execute("select count(*) from pg_tables where tablename = 'only_here'")
            assert found.fetchone() == (0,)
        with psycopg.connect(first) as held_open:
            postgres_server.drop_database("separate_one")
            with pytest.raises(psycopg.OperationalError):
                held_open.execute("select 1")
        with pytest.raises(psycopg.OperationalError, match="does not exist"):
            psycopg.connect(first)
    finally:
        postgres_server.drop_database("separate_one")
        postgres_server.drop_database("separate_two")


def test_postgres_keeps_a_committed_row_through_sigkill(
    postgres_server: PostgresServer, postgres_url: str
) -> None:
    with psycopg.connect(postgres_url) as conn:
        conn.execute("create table acknowledged (id int primary key)")
        conn.execute("insert into acknowledged values (1)")
    postmaster = postgres_server.pid

    with psycopg.connect(postgres_url) as held_open:
        postgres_server.kill()
        assert not postgres_server.running
        assert not port_answers(postgres_server.port)
        with pytest.raises(psycopg.OperationalError):
            held_open.execute("select 1")
    postgres_server.start()

    assert postgres_server.pid != postmaster
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("select id from acknowledged").fetchall() == [(1,)]


# Redis


def test_redis_answers_and_is_empty_for_each_test(
    redis_url: str, redis_server: RedisServer
) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        assert client.ping() is True
        assert client.dbsize() == 0
        client.set("greeting", "hallo")
        assert client.get("greeting") == b"hallo"
        with redis.Redis.from_url(redis_server.url_for(3)) as other_db:
            other_db.set("elsewhere", "1")
            redis_server.flush()
            assert other_db.dbsize() == 0
        assert client.dbsize() == 0
    finally:
        client.close()


@pytest.mark.parametrize("persistent", [False, True])
def test_redis_keeps_writes_through_sigkill_only_when_persistent(
    start_redis: Starter[..., RedisServer], persistent: bool
) -> None:
    server = start_redis(persistent=persistent)
    with redis.Redis.from_url(server.url) as client:
        client.set("pending-login", "abc")

    server.kill()
    assert not port_answers(server.port)
    server.start()

    with redis.Redis.from_url(server.url) as client:
        assert client.get("pending-login") == (b"abc" if persistent else None)
    files = {path.name for path in server.folder.iterdir()}
    assert ("appendonlydir" in files) is persistent
    assert not {"dump.rdb"} & files


# HAProxy


def named_app(name: str, *, healthy: bool = True) -> Starlette:
    """A backend that answers its own name, and 503 on /health when not `healthy`."""

    async def answer(request: Request) -> PlainTextResponse:
        return PlainTextResponse(name)

    async def health(request: Request) -> PlainTextResponse:
        return PlainTextResponse(name, status_code=200 if healthy else 503)

    return Starlette(routes=[Route("/health", health), Route("/{path:path}", answer)])


@contextmanager
def backends(*apps: Starlette) -> Iterator[list[str]]:
    """Serve each app on a port of its own; yields their "127.0.0.1:PORT" addresses."""
    with ExitStack() as stack:
        urls = [stack.enter_context(serve(lambda _url, app=app: app)) for app in apps]
        yield [url.removeprefix("http://") for url in urls]


def names_on_one_connection(port: int, count: int) -> tuple[list[str], set[int]]:
    """`count` GET requests on one keep-alive connection: the answers, and the local
    ports the connection used (one when it stayed open)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=5)
    names, local_ports = [], set()
    try:
        for _ in range(count):
            conn.request("GET", "/")
            response = conn.getresponse()
            names.append(response.read().decode())
            assert conn.sock is not None, "the proxy closed the client's connection"
            local_ports.add(conn.sock.getsockname()[1])
    finally:
        conn.close()
    return names, local_ports


def test_haproxy_takes_turns_per_request_on_a_keep_alive_connection(
    start_haproxy: Starter[..., HaproxyServer],
) -> None:
    with backends(named_app("a"), named_app("b")) as addresses:
        proxy = start_haproxy(addresses)
        names, local_ports = names_on_one_connection(proxy.port, 6)
    assert names == ["a", "b", "a", "b", "a", "b"]
    assert len(local_ports) == 1


def test_haproxy_leaves_out_a_backend_whose_health_check_fails(
    start_haproxy: Starter[..., HaproxyServer],
) -> None:
    with backends(named_app("a"), named_app("sick", healthy=False)) as addresses:
        proxy = start_haproxy(addresses, health_path="/health", health_interval=0.05)
        deadline = time.monotonic() + 5
        while proxy.backend_states() != ["UP", "DOWN"]:
            assert time.monotonic() < deadline, proxy.backend_states()
            time.sleep(0.02)
        names, _ = names_on_one_connection(proxy.port, 4)
    assert names == ["a", "a", "a", "a"]


def test_haproxy_reloads_other_backends_and_stops(
    start_haproxy: Starter[..., HaproxyServer],
) -> None:
    with backends(named_app("a"), named_app("b"), named_app("c")) as (a, b, c):
        proxy = start_haproxy([a, b])
        master, workers = proxy.pid, proxy.workers()
        proxy.reload([b, c])
        assert proxy.pid == master
        assert proxy.workers() != workers
        names, _ = names_on_one_connection(proxy.port, 4)
        proxy.stop()
    assert sorted(names) == ["b", "b", "c", "c"]
    assert not port_answers(proxy.port)


# idp serve nodes


def test_idp_nodes_behind_haproxy_share_issuer_and_store(
    start_idp_nodes: Starter[..., IdpNodes], start_haproxy: Starter[..., HaproxyServer]
) -> None:
    entry = free_port()
    issuer = f"http://{HOST}:{entry}"
    nodes = start_idp_nodes(2, issuer=issuer)
    proxy = start_haproxy(nodes.addresses, entry, health_path="/.well-known/openid-configuration")
    for url in [*nodes.urls, proxy.url]:
        assert httpx.get(f"{url}/.well-known/openid-configuration").json()["issuer"] == issuer
    active = {
        line.split()[0] for line in nodes.idp("keys", "list").splitlines() if "active" in line
    }
    for url in nodes.urls:  # one store: the keys the command line made are the nodes' keys
        assert {key["kid"] for key in httpx.get(f"{url}/jwks").json()["keys"]} == active

    nodes.kill(1)
    assert not port_answers(nodes[1].port)
    with httpx.Client(base_url=proxy.url) as client:
        for _ in range(4):  # the killed node's turns go to the other one
            assert client.get("/.well-known/openid-configuration").status_code == 200
    nodes.start_node(1)
    assert httpx.get(f"{nodes.urls[1]}/.well-known/openid-configuration").status_code == 200
    assert all("Traceback" not in log for log in nodes.logs().values())
    assert (nodes.folder / "idp-node1.log").exists()


# logs of the servers a failed test used


def test_a_failed_test_shows_the_logs_of_its_servers(pytester: pytest.Pytester) -> None:
    pytester.makeconftest('pytest_plugins = ["tests.servers.fixtures"]')
    pytester.makepyfile(
        """
        import pytest

        class Server:
            def logs(self):
                return {"fake": "listening on 5432\\nFATAL: the last line"}

        @pytest.fixture
        def server():
            return Server()

        def test_fails(server):
            assert False

        def test_passes(server):
            assert True
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1, passed=1)
    output = result.stdout.str()
    assert output.count("log of fake") == 1
    assert "FATAL: the last line" in output


def test_the_readme_shows_the_haproxy_configuration_that_the_tests_run(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    [shown] = re.findall(r"```haproxy\n(.*?)```", readme, flags=re.DOTALL)
    run = HaproxyServer(
        tmp_path,
        ["10.0.0.11:8000", "10.0.0.12:8000"],
        8080,
        health_path="/readyz",
        health_ports=[9000, 9000],
        health_interval=1.0,
    ).config()
    missing = [line for line in shown.splitlines() if line not in run.splitlines()]
    assert not missing, f"not in the tests' configuration: {missing}\n{run}"
