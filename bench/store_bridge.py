"""Reaching the store from authlib's synchronous grant: two designs, measured side by side.

(A) A synchronous store (psycopg's ConnectionPool, SqliteStore); the grant runs in a worker
    thread with its store calls and its signing: one hop to a thread per token request.
(B) An asynchronous store (psycopg's AsyncConnectionPool; sqlite's methods run in place,
    commits shared per loop turn as in `idp serve`); the grant runs on the event loop in a
    greenlet, which switches to its parent to await each store call (and the signing, in
    a worker thread).
The work: a client_credentials token request (read the client row, insert the access
token record, answer JSON), opaque or an RS256 JWT, through the project's grant. One
uvicorn process (uvloop, httptools) and a throwaway PostgreSQL cluster run on CPU 0, the
load driver of bench/run.py on CPU 1. Needs the `bench` extra and Node.js:
    .venv/bin/pip install -e '.[bench]' && .venv/bin/python bench/store_bridge.py --help
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import secrets
import shutil
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any, Protocol, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent))

import orjson
from authlib.oauth2 import AuthorizationServer
from harness.driver import Timing, run_driver
from harness.measure import OTHER_CPU_WARN
from harness.npm import ensure_installed
from harness.paths import DRIVER_DIR, REPO
from harness.postgres import start_postgres, stop_postgres
from harness.procs import free_port, start_server
from psycopg import connect
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from idp.oidc.adapter import StarletteOAuth2Request, read_form, to_response
from idp.oidc.bridge import run_bridged, wait_for
from idp.oidc.models import OAuthClient, hash_secret, new_token, token_id
from idp.oidc.server import ClientCredentialsGrant
from idp.store import Client
from idp.store.sqlite import SqliteStore

T = TypeVar("T")
JSON = dict[str, Any]
TTL = 3600
PG_SCHEMA = """
CREATE TABLE clients (client_id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE records (key TEXT PRIMARY KEY, payload JSONB NOT NULL, grant_id TEXT,
    expires_at DOUBLE PRECISION, consumed BOOLEAN NOT NULL DEFAULT FALSE);
CREATE INDEX records_grant ON records (grant_id) WHERE grant_id IS NOT NULL;
"""
SELECT_CLIENT = "SELECT data FROM clients WHERE client_id = %s"
INSERT_CLIENT = "INSERT INTO clients (client_id, data) VALUES (%s, %s)"
INSERT_RECORD = "INSERT INTO records (key, payload, expires_at, grant_id) VALUES (%s, %s, %s, %s)"
SERVICE = Client("service", "service", (), grant_types=("client_credentials",), scopes=("api",))
CLIENTS = {"service": SERVICE, "service_jwt": replace(SERVICE, client_id="service_jwt")}
DESIGNS, BACKENDS = ("A", "B"), ("pg", "sqlite")


def load_client(text: str) -> Client:
    data = orjson.loads(text)
    return Client(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


# --- the two store interfaces, each on both backends
class SyncStore(Protocol):
    def get_client(self, client_id: str) -> Client | None: ...
    def insert_token(self, key: str, payload: JSON, ttl: int) -> None: ...


class AsyncStore(Protocol):
    async def get_client(self, client_id: str) -> Client | None: ...
    async def insert_token(self, key: str, payload: JSON, ttl: int) -> None: ...


class SqliteSync:
    """The sqlite file through the synchronous sqlite3 module, a connection per worker
    thread: what a synchronous store would do."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.local = threading.local()

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self.local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self.local.conn = conn
        return conn

    def get_client(self, client_id: str) -> Client | None:
        sql = "SELECT data FROM clients WHERE client_id = ?"
        row = self._conn().execute(sql, (client_id,)).fetchone()
        return load_client(row[0]) if row else None

    def insert_token(self, key: str, payload: JSON, ttl: int) -> None:
        self._conn().execute(  # one statement: a transaction of its own
            "INSERT INTO records (key, payload, expires_at, consumed, created_at)"
            " VALUES (?, ?, ?, 0, ?)",
            (f"access_token:{key}", orjson.dumps(payload).decode(), time.time() + ttl, time.time()),
        )


@dataclass
class SqliteAsync:
    """The project's asynchronous SqliteStore, as the token endpoint uses it."""

    store: SqliteStore

    async def get_client(self, client_id: str) -> Client | None:
        return await self.store.get_client(client_id)

    async def insert_token(self, key: str, payload: JSON, ttl: int) -> None:
        async with self.store.unit():
            await self.store.upsert("access_token", key, payload, expires_in=ttl)


@dataclass
class PgSync:
    pool: ConnectionPool

    def get_client(self, client_id: str) -> Client | None:
        with self.pool.connection() as conn:
            row = conn.execute(SELECT_CLIENT, (client_id,)).fetchone()
        return load_client(row[0]) if row else None

    def insert_token(self, key: str, payload: JSON, ttl: int) -> None:
        row = (f"access_token:{key}", orjson.dumps(payload).decode(), time.time() + ttl, None)
        with self.pool.connection() as conn:  # autocommit: one statement, one transaction
            conn.execute(INSERT_RECORD, row)


@dataclass
class PgAsync:
    pool: AsyncConnectionPool

    async def get_client(self, client_id: str) -> Client | None:
        async with self.pool.connection() as conn:
            row = await (await conn.execute(SELECT_CLIENT, (client_id,))).fetchone()
        return load_client(row[0]) if row else None

    async def insert_token(self, key: str, payload: JSON, ttl: int) -> None:
        row = (f"access_token:{key}", orjson.dumps(payload).decode(), time.time() + ttl, None)
        async with self.pool.connection() as conn:
            await conn.execute(INSERT_RECORD, row)


# --- design B's bridge: the project's own (idp.oidc.bridge)
@dataclass
class BridgedStore:
    store: AsyncStore

    def get_client(self, client_id: str) -> Client | None:
        return wait_for(self.store.get_client(client_id))

    def insert_token(self, key: str, payload: JSON, ttl: int) -> None:
        wait_for(self.store.insert_token(key, payload, ttl))


# --- the authlib side, the same for both designs
class Grant(ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]


class TokenServer(AuthorizationServer):
    def __init__(self, issuer: str, store: SyncStore, sign: Callable[[JSON], str]) -> None:
        super().__init__(scopes_supported=None)
        self.issuer, self.store, self.sign = issuer, store, sign
        self.register_token_generator("default", self.make_token)
        self.register_grant(Grant)

    def create_oauth2_request(self, request: Any) -> Any:
        return request

    def query_client(self, client_id: str) -> OAuthClient | None:
        client = self.store.get_client(client_id)
        return OAuthClient(client) if client else None

    def handle_response(self, status: int, body: Any, headers: Any) -> tuple[int, Any, list]:
        return status, body, list(headers or [])

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        pass

    def make_token(self, grant_type: str, client: OAuthClient, **kw: Any) -> JSON:
        access_token = new_token()
        if client.client.access_token_format == "jwt":
            now = int(time.time())
            claims = {"iss": self.issuer, "sub": client.client_id, "aud": client.client_id}
            claims |= {"iat": now, "exp": now + TTL, "jti": access_token, "scope": kw["scope"]}
            access_token = self.sign(claims)
        return {"token_type": "Bearer", "access_token": access_token, "expires_in": TTL}

    def save_token(self, token: JSON, request: Any) -> None:
        now = int(time.time())
        payload = {"client_id": request.client.client_id, "sub": None, "grant_id": None}
        payload |= {"scope": token.get("scope", ""), "iat": now, "expires_at": now + TTL}
        self.store.insert_token(token_id(token["access_token"]), payload, TTL)

    def write_tokens(self, request: Any) -> None:
        pass  # save_token wrote the one record already


# --- the server process
def serve(args: argparse.Namespace) -> None:
    import uvicorn
    from jwcrypto.jwk import JWK
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Mount, Route

    import idp.store.sqlite
    from idp.cli.serve import tune_for_serving
    from idp.http_protocol import GatheringHttpToolsProtocol
    from idp.jws_sign import sign_compact
    from idp.offload import Workers, run_sync

    idp.store.sqlite.CLIENT_CACHE_SECONDS = 0.0  # read the client row on every request
    jwk = JWK.generate(kty="RSA", size=2048, kid="k1", alg="RS256", use="sig")
    key: Any = jwk.get_op_key("sign")
    header = {"alg": "RS256", "typ": "at+jwt", "kid": "k1"}
    sign: Callable[[JSON], str] = partial(sign_compact, key, header)
    sqlite = SqliteStore(args.sqlite)
    sqlite.start_upkeep()  # checkpoints in a thread of their own, as the provider does
    threads = Workers(args.pool, "grant")
    pool_kw: Any = {"min_size": args.pool, "kwargs": {"autocommit": True}, "open": False}
    sync_pool = ConnectionPool(args.pg, **pool_kw)
    async_pool = AsyncConnectionPool(args.pg, **pool_kw)
    base = f"http://127.0.0.1:{args.port}"

    def mount(design: str, backend: str) -> Mount:
        issuer = f"{base}/{design}-{backend}"
        run: Callable[[StarletteOAuth2Request], Awaitable[Any]]
        if design == "A":
            store: SyncStore = SqliteSync(args.sqlite) if backend == "sqlite" else PgSync(sync_pool)
            server = TokenServer(issuer, store, sign)
            run = lambda req: threads.run(partial(server.create_token_response, req))  # noqa: E731
        else:
            astore: AsyncStore = SqliteAsync(sqlite) if backend == "sqlite" else PgAsync(async_pool)
            bridged = TokenServer(
                issuer, BridgedStore(astore), lambda c: wait_for(run_sync(sign, c))
            )
            run = partial(run_bridged, bridged.create_token_response)
        meta = {"issuer": issuer, "token_endpoint": f"{issuer}/token", "jwks_uri": f"{issuer}/jwks"}
        keys = {"keys": [jwk.export_public(as_dict=True)]}

        async def token(request: Any) -> Any:
            return to_response(await run(StarletteOAuth2Request(request, await read_form(request))))

        return Mount(
            f"/{design}-{backend}",
            routes=[
                Route("/.well-known/openid-configuration", lambda _: JSONResponse(meta)),
                Route("/jwks", lambda _: JSONResponse(keys)),
                Route("/token", token, methods=["POST"]),
            ],
        )

    @contextlib.asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        await asyncio.to_thread(sync_pool.open, wait=True)
        await async_pool.open(wait=True)
        yield
        await async_pool.close()
        sync_pool.close()

    routes = [mount(d, b) for d in DESIGNS for b in BACKENDS]
    app = Starlette(routes=routes, lifespan=lifespan)
    tune_for_serving()
    quiet = {"access_log": False, "log_level": "warning", "server_header": False}
    uvicorn.run(app, port=int(args.port), loop="uvloop", http=GatheringHttpToolsProtocol, **quiet)


# --- the orchestration
def fill_stores(conninfo: str, sqlite_path: Path, secret: str) -> None:
    clients = {k: replace(c, secret_hash=hash_secret(secret)) for k, c in CLIENTS.items()}
    clients["service_jwt"] = replace(clients["service_jwt"], access_token_format="jwt")
    store = SqliteStore(sqlite_path)
    with connect(conninfo, autocommit=True) as conn:
        conn.execute(PG_SCHEMA)
        for c in clients.values():
            conn.execute(INSERT_CLIENT, (c.client_id, orjson.dumps(asdict(c)).decode()))
            asyncio.run(store.add_client(c))
    store.close_now()


def other_cpu(r: dict[str, Any]) -> float:
    """% of a core the machine spent on neither the server side nor the driver."""
    server = 100 * r["server_tree_cpu_s"] / r["elapsed_s"]
    return float(sum(r["cpu_busy_pct"].values()) - server - r["driver_cpu_pct"])


def summary(runs: list[dict[str, Any]]) -> dict[str, float]:
    def med(pick: Callable[[dict[str, Any]], float]) -> float:
        return statistics.median(pick(r) for r in runs)

    return {
        "rps": med(lambda r: r["ops_per_s"]),
        "p50": med(lambda r: r["latency_ms"]["p50"]),
        "p99": med(lambda r: r["latency_ms"]["p99"]),
        "per_cpu": med(lambda r: r["ops"] / max(r["server_tree_cpu_s"], 1e-9)),
        "cpu": med(lambda r: 100 * r["server_tree_cpu_s"] / r["elapsed_s"]),
        "other": med(other_cpu),
        "errors": sum(r["errors"] for r in runs),
    }


COLUMNS = f"{'req/s':>7} {'p50 ms':>6} {'p99 ms':>6} {'req/cpu-s':>9} {'cpu%':>4}"
HEAD = f"{'backend':<7} {'token':<6} {'c':>2} | A {COLUMNS} | B {COLUMNS} | B/A: req/s  req/cpu-s"


def cell(s: dict[str, float]) -> str:
    mark = "!" if s["errors"] else " "
    rps, p50, p99, per_cpu, cpu = s["rps"], s["p50"], s["p99"], s["per_cpu"], s["cpu"]
    return f"{rps:>8.0f}{mark} {p50:>6.2f} {p99:>6.2f} {per_cpu:>9.0f} {cpu:>4.0f}"


def row(args: argparse.Namespace, port: int, secret: str, tree: list[int], what: tuple) -> str:
    """One line of the table: A and B alternating, the order flipped run by run."""
    backend, workload, c = what
    clients = {name: {"client_id": name, "client_secret": secret} for name in CLIENTS}
    runs: dict[str, list[dict[str, Any]]] = {d: [] for d in DESIGNS}
    for i in range(args.runs):
        for design in DESIGNS if i % 2 == 0 else DESIGNS[::-1]:
            spec = {"issuer": f"http://127.0.0.1:{port}/{design}-{backend}", "clients": clients}
            timing = Timing(args.warmup, args.duration)
            r = run_driver(spec, workload, c, timing, server_pid=tree[0], server_tree_pids=tree)
            runs[design].append(r)
            errors = f"  errors {r['errors']}: {r['error_samples'][:1]}" if r["errors"] else ""
            print(f"  {backend} {workload} c={c} {design}: {r['ops_per_s']:.0f} req/s{errors}")
    a, b = summary(runs["A"]), summary(runs["B"])
    busy = "  (busy machine)" if max(a["other"], b["other"]) > OTHER_CPU_WARN else ""
    ratios = f"{b['rps'] / a['rps']:>5.2f}  {b['per_cpu'] / a['per_cpu']:>9.2f}{busy}"
    return f"{backend:<7} {workload[3:]:<6} {c:>2} | {cell(a)} | {cell(b)} |{ratios}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("mode", nargs="?", default="bench", choices=["bench", "serve"])
    parser.add_argument("--duration", type=float, default=3.0, help="measured seconds per run")
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pool", type=int, default=16, help="connections per pool; A's threads")
    parser.add_argument("--concurrency", default="1,32")
    for internal in ("--port", "--pg", "--sqlite"):  # of the server process
        parser.add_argument(internal, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mode == "serve":
        serve(args)
        return 0
    ensure_installed(DRIVER_DIR)
    folder = Path(tempfile.mkdtemp(prefix="store-bridge-"))
    folder.chmod(0o755)
    pg_pid, server = None, None
    try:
        pg_pid, conninfo = start_postgres(folder / "pg")
        secret = secrets.token_urlsafe(24)
        fill_stores(conninfo, folder / "idp.sqlite", secret)
        port = free_port()
        cmd = [sys.executable, __file__, "serve", "--port", f"{port}", "--pg", conninfo]
        cmd += ["--sqlite", str(folder / "idp.sqlite"), "--pool", str(args.pool)]
        server = start_server("bridge", cmd, cwd=REPO, env=os.environ, log_path=folder / "log")
        # a failure to start shows the server's log (Server.wait_ready)
        server.wait_ready(f"http://127.0.0.1:{port}/A-pg/.well-known/openid-configuration")
        levels = [int(c) for c in args.concurrency.split(",")]
        lines = [HEAD, "-" * len(HEAD)]
        for what in itertools.product(BACKENDS, ("cc_opaque", "cc_jwt"), levels):
            tree = [server.pid, pg_pid] if what[0] == "pg" else [server.pid]
            lines.append(row(args, port, secret, tree, what))
        print("\n" + "\n".join(lines))
        print(
            f"\nmedian of {args.runs} runs of {args.duration:g} s; pool {args.pool} (A: as many"
            " threads); req/cpu-s and cpu% count the uvicorn process and, on pg, every"
            " PostgreSQL one, all on CPU 0"
        )
    finally:
        if server is not None:
            server.stop()
        if pg_pid is not None:
            stop_postgres(pg_pid)
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
