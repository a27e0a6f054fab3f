"""The store a benchmark serves our IdP on, with the servers it needs started: the sqlite
file (nothing to start), PostgreSQL, or PostgreSQL with a Redis cache."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .postgres import start_postgres, stop_postgres
from .redis_server import start_redis, stop_redis

#: store name -> what it is
STORES = {
    "sqlite": "the embedded sqlite file",
    "pg": "PostgreSQL",
    "pg+redis": "PostgreSQL with a Redis cache ([store] cache)",
}


@dataclass
class RunningStore:
    name: str
    #: the IDP_* settings that point the IdP at it
    environ: dict[str, str] = field(default_factory=dict)
    #: the server processes it runs (PostgreSQL's postmaster, redis-server): their CPU
    #: time, and their children's, is the store's share of the server side
    pids: list[int] = field(default_factory=list)


@contextmanager
def running_store(name: str, folder: Path) -> Iterator[RunningStore]:
    """Start what store `name` needs, with its files under `folder` (whose parents
    PostgreSQL's OS user must be able to enter); stop it afterwards. A sqlite store is the
    IdP's own file (IDP_STORE_PATH, set by whoever starts it)."""
    if name not in STORES:
        raise ValueError(f"unknown store {name!r}: choose from {', '.join(STORES)}")
    if name == "sqlite":
        yield RunningStore(name)
        return
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)  # PostgreSQL runs as its own user and must reach its folder
    pg_pid, conninfo = start_postgres(folder / "pg")
    try:
        port = dict(part.split("=") for part in conninfo.split())["port"]
        key = base64.urlsafe_b64encode(os.urandom(32)).decode()
        store = RunningStore(
            name,
            {
                "IDP_STORE_URL": f"postgresql://postgres@127.0.0.1:{port}/postgres",
                "IDP_POCKET_ENCRYPTION_KEY": key,
            },
            [pg_pid],
        )
        if name == "pg":
            yield store
            return
        redis = start_redis(folder / "redis")
        try:
            store.environ["IDP_STORE_CACHE"] = redis.url
            store.pids.append(redis.pid)
            yield store
        finally:
            stop_redis(redis)
    finally:
        stop_postgres(pg_pid)
