"""The embedded store: one sqlite file, one connection per thread, WAL journal."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import orjson

from idp.errors import Conflict, StoreError
from idp.store import sqlite_schema
from idp.store.base import JSON, Client, SigningKey, User

_T = TypeVar("_T")

log = logging.getLogger("idp")

#: clients are read on every token request; a change made by another process (the `idp`
#: command) is seen by a running server within this many seconds
CLIENT_CACHE_SECONDS = 5.0

#: a sweep of expired rows runs after this many writes (without the maintenance thread)
_SWEEP_EVERY = 500

#: with the maintenance thread: how often the WAL is copied into the database
CHECKPOINT_SECONDS = 0.1
#: the WAL starts over once it holds this many pages (4 KiB each, so about 16 MiB)
WAL_RESTART_FRAMES = 4096
#: how long a RESTART checkpoint waits for other processes' readers
RESTART_WAIT_MS = 20
#: and how often expired rows are swept, in batches of this many rows
SWEEP_SECONDS = 30.0
_SWEEP_BATCH = 500


class SqliteStore:
    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._writes = 0
        self._restart_due = False
        self._clients: dict[str, tuple[float, Client | None]] = {}
        self._maintenance: threading.Thread | None = None
        self._stop = threading.Event()
        sqlite_schema.prepare(self._conn(), self.path)

    # --- plumbing
    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            if self._maintenance is not None:
                # checkpoints (which fsync) are left to the maintenance thread
                conn.execute("PRAGMA wal_autocheckpoint=0")
            self._local.conn = conn
        return conn

    def start(self) -> None:
        self.start_maintenance()

    def start_maintenance(
        self, interval: float = CHECKPOINT_SECONDS, sweep_every: float = SWEEP_SECONDS
    ) -> None:
        """Move WAL checkpoints and the sweep of expired rows to a thread of their own,
        so that a request never waits for an fsync. For long-running servers."""
        if self._maintenance is not None:
            return
        self._stop.clear()
        self._maintenance = threading.Thread(
            target=self._maintain, args=(interval, sweep_every), name="idp-sqlite", daemon=True
        )
        self._maintenance.start()
        self._conn().execute("PRAGMA wal_autocheckpoint=0")

    def stop_maintenance(self) -> None:
        thread, self._maintenance = self._maintenance, None
        if thread is not None:
            self._stop.set()
            thread.join()

    def _maintain(self, interval: float, sweep_every: float) -> None:
        conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        next_sweep = time.monotonic() + sweep_every
        try:
            while not self._stop.wait(interval):
                self._checkpoint(conn)
                if time.monotonic() >= next_sweep:
                    self._sweep_quietly(conn)
                    next_sweep = time.monotonic() + sweep_every
        finally:
            conn.close()

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        """Copy the WAL into the database; once it is large, ask for a restart.

        A PASSIVE checkpoint never holds a writer up, but alone it never lets a busy
        server's WAL start over either: writes keep coming while it copies, so it never
        catches up, and the WAL then grows without end (hundreds of megabytes a minute
        under load, each write into new file space costing far more than a write over
        space already there). A RESTART checkpoint from this thread would hold the
        server's writes up while it finishes, and a writer held up by sqlite sleeps
        whole milliseconds at a time. So the restart is left to the writer itself
        (`_restart_if_due`), between two of its own writes, when only the frames of
        the last moments are left to copy.
        """
        row = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        frames = row[1] if row else 0  # in the WAL since it last started over
        if frames > WAL_RESTART_FRAMES:
            self._restart_due = True

    def _restart_if_due(self, conn: sqlite3.Connection) -> None:
        """After a write outside a transaction: start the WAL over when it has grown
        large (see _checkpoint). The few frames not yet copied are copied here, and the
        next write starts the WAL from its beginning."""
        if not self._restart_due or conn.in_transaction:
            return
        self._restart_due = False
        conn.execute(f"PRAGMA busy_timeout={RESTART_WAIT_MS}")
        try:
            conn.execute("PRAGMA wal_checkpoint(RESTART)")
        finally:
            conn.execute("PRAGMA busy_timeout=10000")

    @staticmethod
    def _sweep_quietly(conn: sqlite3.Connection) -> None:
        """Delete expired rows in small batches, walking the table once in rowid order:
        the expired rows are found by reading, which never holds writers up, and each
        batch is deleted in a short write."""
        now = time.time()
        after = 0
        while True:
            expired = [
                rowid
                for (rowid,) in conn.execute(
                    "SELECT rowid FROM records WHERE rowid > ? AND expires_at < ?"
                    " ORDER BY rowid LIMIT ?",
                    (after, now, _SWEEP_BATCH),
                )
            ]
            if not expired:
                break
            marks = ",".join("?" * len(expired))
            conn.execute(f"DELETE FROM records WHERE rowid IN ({marks})", expired)
            after = expired[-1]
        conn.execute("DELETE FROM counters WHERE expires_at < ?", (now,))

    @contextmanager
    def atomic(self) -> Iterator[None]:
        conn = self._conn()
        local = self._local
        if getattr(local, "block", None) is not None:
            yield  # inside grouped(), which is atomic already
            return
        self._land_group()  # writes of others go first, in a commit of their own
        if conn.in_transaction:
            yield  # joins the transaction already open on this thread
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        self._restart_if_due(conn)

    @contextmanager
    def grouped(self) -> Iterator[None]:
        """atomic(), with the commit shared: on a thread that runs an event loop, the
        writes of every grouped() block of one turn of the loop land in one commit,
        made when the turn is over. `await landed()` after the block, before answering.

        A commit costs more than the few rows a token request writes (sqlite writes each
        changed page whole, and takes and drops its locks), so a busy server commits
        once for many requests instead of once for each. Each block still stands alone:
        when it ends with an exception its writes are undone (those of the first block
        to write in a turn with the whole transaction, those of later ones with a
        savepoint of their own). Other writes on the loop's thread land the open group
        first, so nothing waits behind it.
        """
        local = self._local
        conn = self._conn()
        inside_atomic = conn.in_transaction and getattr(local, "group", None) is None
        loop = None if inside_atomic else _running_loop()
        if getattr(local, "block", None) is not None or loop is None:
            with self.atomic():
                yield
            return
        block = _Block(loop)
        local.block = block
        try:
            yield
        except BaseException:
            if block.savepoint:
                conn.execute("ROLLBACK TO grouped")
                conn.execute("RELEASE grouped")
            elif block.opened_group:
                local.group = None  # nothing but this block's writes is in it
                conn.execute("ROLLBACK")
            raise
        else:
            if block.savepoint:
                conn.execute("RELEASE grouped")
        finally:
            local.block = None

    async def landed(self) -> None:
        """Wait until the writes of the grouped() blocks run so far on this thread have
        landed; raises StoreError if they could not be committed (none of them then did)."""
        group: _Group | None = getattr(self._local, "group", None)
        if group is None:
            return
        waiter = asyncio.get_running_loop().create_future()
        group.waiters.append(waiter)
        await waiter

    def _join_group(self, conn: sqlite3.Connection, block: _Block) -> None:
        """The first write of a grouped() block: the first block to write in a turn opens
        the turn's transaction (and, should it fail, undoes all of it); a later one takes
        a savepoint of its own."""
        if getattr(self._local, "group", None) is None:
            conn.execute("BEGIN IMMEDIATE")
            group = _Group()
            self._local.group = group
            block.loop.call_soon(self._land_group, group)
            block.opened_group = True
        else:
            conn.execute("SAVEPOINT grouped")
            block.savepoint = True

    def _land_group(self, group: _Group | None = None) -> None:
        """Commit the open group (if it is `group`, when given) and tell its waiters."""
        open_group: _Group | None = getattr(self._local, "group", None)
        if open_group is None or (group is not None and group is not open_group):
            return
        self._local.group = None
        conn = self._conn()
        failure = ""
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            log.error("a grouped commit failed, its writes are undone: %s", exc)
            failure = f"the store could not commit: {exc}"
            try:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            except sqlite3.Error:
                log.exception("and the rollback after it failed too")
        for waiter in open_group.waiters:
            if waiter.done():
                continue  # its request was cancelled
            if failure:
                waiter.set_exception(StoreError(failure))
            else:
                waiter.set_result(None)
        self._restart_if_due(conn)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A connection for one writing statement; in autocommit mode each statement is
        its own transaction, so a single statement needs no BEGIN/COMMIT of its own."""
        conn = self._conn()
        block: _Block | None = getattr(self._local, "block", None)
        if block is not None:
            if not (block.savepoint or block.opened_group):
                self._join_group(conn, block)
        elif getattr(self._local, "group", None) is not None:
            self._land_group()
        yield conn
        self._writes += 1
        if self._maintenance is None and self._writes % _SWEEP_EVERY == 0:
            self.sweep()
        self._restart_if_due(conn)

    def sweep(self) -> None:
        now = time.time()
        conn = self._conn()
        conn.execute("DELETE FROM records WHERE expires_at IS NOT NULL AND expires_at < ?", (now,))
        conn.execute("DELETE FROM counters WHERE expires_at < ?", (now,))

    def close(self) -> None:
        self._land_group()
        self.stop_maintenance()
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # --- users
    def add_user(self, user: User) -> None:
        try:
            with self._write() as db:
                db.execute(
                    "INSERT INTO users (sub, username, data) VALUES (?, ?, ?)",
                    (user.sub, user.username, _dump(user)),
                )
        except sqlite3.IntegrityError:
            raise Conflict(f"a user named {user.username!r} exists already") from None

    def update_user(self, user: User) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE users SET username = ?, data = ? WHERE sub = ?",
                (user.username, _dump(user), user.sub),
            )

    def get_user(self, sub: str) -> User | None:
        row = self._conn().execute("SELECT data FROM users WHERE sub = ?", (sub,)).fetchone()
        return _load(User, row[0]) if row else None

    def find_user(self, username: str) -> User | None:
        row = (
            self._conn()
            .execute("SELECT data FROM users WHERE username = ?", (username,))
            .fetchone()
        )
        return _load(User, row[0]) if row else None

    def list_users(self) -> list[User]:
        rows = self._conn().execute("SELECT data FROM users ORDER BY username").fetchall()
        return [_load(User, r[0]) for r in rows]

    def remove_user(self, sub: str) -> bool:
        with self._write() as db:
            return db.execute("DELETE FROM users WHERE sub = ?", (sub,)).rowcount > 0

    # --- clients
    def add_client(self, client: Client) -> None:
        try:
            with self._write() as db:
                db.execute(
                    "INSERT INTO clients (client_id, data) VALUES (?, ?)",
                    (client.client_id, _dump(client)),
                )
            self._clients.pop(client.client_id, None)
        except sqlite3.IntegrityError:
            raise Conflict(f"a client with id {client.client_id!r} exists already") from None

    def get_client(self, client_id: str) -> Client | None:
        now = time.monotonic()
        cached = self._clients.get(client_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        row = (
            self._conn()
            .execute("SELECT data FROM clients WHERE client_id = ?", (client_id,))
            .fetchone()
        )
        client = _load(Client, row[0]) if row else None
        if len(self._clients) > 10_000:
            self._clients.clear()
        self._clients[client_id] = (now + CLIENT_CACHE_SECONDS, client)
        return client

    def list_clients(self) -> list[Client]:
        rows = self._conn().execute("SELECT data FROM clients ORDER BY client_id").fetchall()
        return [_load(Client, r[0]) for r in rows]

    def remove_client(self, client_id: str) -> bool:
        self._clients.pop(client_id, None)
        with self._write() as db:
            return db.execute("DELETE FROM clients WHERE client_id = ?", (client_id,)).rowcount > 0

    # --- signing keys
    def add_key(self, key: SigningKey) -> None:
        with self._write() as db:
            db.execute("INSERT INTO signing_keys (kid, data) VALUES (?, ?)", (key.kid, _dump(key)))

    def update_key(self, key: SigningKey) -> None:
        with self._write() as db:
            db.execute("UPDATE signing_keys SET data = ? WHERE kid = ?", (_dump(key), key.kid))

    def list_keys(self) -> list[SigningKey]:
        rows = self._conn().execute("SELECT data FROM signing_keys").fetchall()
        keys = [_load(SigningKey, r[0]) for r in rows]
        return sorted(keys, key=lambda k: k.created_at)

    # --- records
    def upsert(
        self,
        model: str,
        id: str,
        payload: JSON,
        expires_in: int | None = None,
        grant_id: str | None = None,
        sub: str | None = None,
    ) -> None:
        now = time.time()
        expires_at = now + expires_in if expires_in is not None else None
        with self._write() as db:
            db.execute(
                "INSERT INTO records (key, payload, grant_id, expires_at, consumed, sub,"
                " created_at) VALUES (?, ?, ?, ?, 0, ?, ?) ON CONFLICT (key) DO UPDATE SET"
                " payload = excluded.payload, grant_id = excluded.grant_id,"
                " expires_at = excluded.expires_at, sub = excluded.sub",
                (f"{model}:{id}", _dump_record(payload), grant_id, expires_at, sub, now),
            )

    def find(self, model: str, id: str) -> JSON | None:
        row = (
            self._conn()
            .execute(
                "SELECT payload, consumed FROM records WHERE key = ?"
                " AND (expires_at IS NULL OR expires_at >= ?)",
                (f"{model}:{id}", time.time()),
            )
            .fetchone()
        )
        if row is None:
            return None
        payload: JSON = orjson.loads(row[0])
        if row[1]:
            payload["consumed"] = True
        return payload

    def consume(self, model: str, id: str) -> JSON | None:
        with self._write() as db:
            rows = db.execute(
                "UPDATE records SET consumed = 1 WHERE key = ? AND consumed = 0"
                " AND (expires_at IS NULL OR expires_at >= ?) RETURNING payload",
                (f"{model}:{id}", time.time()),
            ).fetchall()
        return orjson.loads(rows[0][0]) if rows else None

    def destroy(self, model: str, id: str) -> None:
        with self._write() as db:
            db.execute("DELETE FROM records WHERE key = ?", (f"{model}:{id}",))

    def revoke_by_grant_id(self, grant_id: str) -> int:
        with self._write() as db:
            return db.execute("DELETE FROM records WHERE grant_id = ?", (grant_id,)).rowcount

    def find_by_sub(self, model: str, sub: str) -> list[tuple[str, JSON]]:
        start = f"{model}:"
        rows = (
            self._conn()
            .execute(
                "SELECT key, payload, consumed FROM records WHERE sub = ? AND key >= ? AND key < ?"
                " AND (expires_at IS NULL OR expires_at >= ?) ORDER BY created_at, key",
                (sub, start, start + "\U0010ffff", time.time()),
            )
            .fetchall()
        )
        return [_listed(row) for row in rows]

    def find_since(self, model: str, since: float) -> list[tuple[str, JSON]]:
        start = f"{model}:"
        rows = (
            self._conn()
            .execute(
                "SELECT key, payload, consumed FROM records WHERE key >= ? AND key < ?"
                " AND created_at >= ? AND (expires_at IS NULL OR expires_at >= ?)"
                " ORDER BY created_at, key",
                (start, start + "\U0010ffff", since, time.time()),
            )
            .fetchall()
        )
        return [_listed(row) for row in rows]

    # --- counters
    def hit(self, key: str, window: int) -> int:
        now = time.time()
        with self._write() as db:
            rows = db.execute(
                "INSERT INTO counters (key, count, expires_at) VALUES (?, 1, ?)"
                " ON CONFLICT (key) DO UPDATE SET"
                " count = CASE WHEN expires_at < ? THEN 1 ELSE count + 1 END,"
                " expires_at = CASE WHEN expires_at < ? THEN excluded.expires_at"
                " ELSE expires_at END RETURNING count",
                (key, now + window, now, now),
            ).fetchall()
        return int(rows[0][0])

    def release(self, key: str) -> None:
        with self._write() as db:
            db.execute("UPDATE counters SET count = count - 1 WHERE key = ? AND count > 0", (key,))

    def count(self, key: str) -> int:
        row = (
            self._conn()
            .execute(
                "SELECT count FROM counters WHERE key = ? AND expires_at >= ?", (key, time.time())
            )
            .fetchone()
        )
        return int(row[0]) if row else 0

    def clear(self, key: str) -> None:
        with self._write() as db:
            db.execute("DELETE FROM counters WHERE key = ?", (key,))


@dataclasses.dataclass(eq=False)
class _Group:
    """The transaction the grouped() blocks of one turn of the event loop write into."""

    waiters: list[asyncio.Future[None]] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(eq=False)
class _Block:
    """One grouped() block; at its first write it opens the group or takes a savepoint."""

    loop: asyncio.AbstractEventLoop
    opened_group: bool = False
    savepoint: bool = False


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _listed(row: tuple[str, str, int]) -> tuple[str, JSON]:
    """(id, payload) of a records row (key, payload, consumed), as find() has it."""
    key, text, consumed = row
    payload: JSON = orjson.loads(text)
    if consumed:
        payload["consumed"] = True
    return key.split(":", 1)[1], payload


def _dump_record(payload: JSON) -> str:
    # keys that are not strings are written as strings, as the json module does
    return orjson.dumps(payload, option=orjson.OPT_NON_STR_KEYS).decode()


def _dump(obj: Any) -> str:
    return _dump_record(dataclasses.asdict(obj))


def _load(cls: type[_T], text: str) -> _T:
    data = orjson.loads(text)
    known = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    values = {}
    for name, value in data.items():
        if name not in known:
            continue
        if isinstance(value, list):
            value = tuple(value)
        values[name] = value
    return cls(**values)
