"""The embedded store: one sqlite file, in WAL mode, for a single process.

Its statements take microseconds, so the coroutines run them in place: awaiting a worker
thread would cost more than the statement. Each thread that uses the store (the event
loop's, or a command's) has two connections: one that writes, and one that reads what
others have committed. The writing one is shared by that thread's tasks one at a time
(an asyncio lock), so a unit of work holds it from its first write to its end, and a
task that reads meanwhile never sees another's writes before they land.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from idp.errors import AlreadyUsed, Conflict, SchemaOutdated, StoreError
from idp.store import sqlite_copy, sqlite_schema
from idp.store.base import (
    JSON,
    Client,
    RecordView,
    SigningKey,
    Snapshot,
    User,
)
from idp.store.codec import dump_payload, dump_row, load_payload, load_row
from idp.store.namespaced import NamespacedRecords
from idp.store.sqlite_read_only import ReadOnlyFile
from idp.store.sqlite_units import _UNIT, _Thread, _Unit, end_unit, take_writer
from idp.store.sqlite_upkeep import Upkeep, sweep
from idp.store.wakeups import LocalWakeups

#: clients are read on every token request; a change made by another process (the `idp`
#: command) is seen by a running server within this many seconds
CLIENT_CACHE_SECONDS = 5.0

#: a sweep of expired rows runs after this many writes (without the upkeep thread)
_SWEEP_EVERY = 500

_LIVE = "(expires_at IS NULL OR expires_at >= ?)"


class SqliteStore:
    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        """The store in the file at `path`, made with its tables if it is new. With
        `read_only`, the file must exist and nothing is ever written to it (see
        sqlite_read_only.py): a write fails with sqlite's "readonly database" error."""
        self.path = str(path)
        self.read_only = read_only
        self._read_only_file: ReadOnlyFile | None = None
        if read_only:
            self._read_only_file = ReadOnlyFile(self.path)
        elif self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._writes = 0
        self._clients: dict[str, tuple[float, Client | None]] = {}
        self._upkeep = Upkeep(self.path)
        #: one process uses the file: its wake-ups stay within it
        self.wakeups = LocalWakeups()
        state = self._thread()
        if read_only:
            sqlite_schema.check(state.reader, self.path)
        else:
            sqlite_schema.prepare(state.writer, self.path)

    # --- plumbing
    def _connect(self) -> sqlite3.Connection:
        if self._read_only_file is not None:
            return self._read_only_file.connect()
        conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        sqlite_schema.into_wal(conn)
        conn.execute("PRAGMA synchronous=NORMAL")
        if self._upkeep.running:
            # checkpoints (which fsync) are left to the upkeep thread
            conn.execute("PRAGMA wal_autocheckpoint=0")
        return conn

    def _thread(self) -> _Thread:
        state: _Thread | None = getattr(self._local, "state", None)
        if state is None:
            state = _Thread(self._connect(), self._connect(), asyncio.Lock())
            self._local.state = state
        return state

    def _unit(self) -> _Unit | None:
        unit = _UNIT.get()
        return unit if unit is not None and unit.store is self else None

    def _reader(self) -> sqlite3.Connection:
        """Where to read: a unit that has written reads its own writes."""
        unit = self._unit()
        if unit is not None and unit.began:
            return unit.thread.writer
        return self._thread().reader

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[sqlite3.Connection]:
        """The connection for one writing statement, within the task's unit of work (a
        write outside a unit is a unit of its own)."""
        unit = self._unit()
        if unit is None:
            async with self.unit(), self._write() as conn:
                yield conn
            return
        if not unit.began:
            await take_writer(unit, self._commit)
        yield unit.thread.writer

    def _wrote(self, conn: sqlite3.Connection) -> None:
        self._writes += 1
        if not self._upkeep.running and self._writes % _SWEEP_EVERY == 0:
            sweep(conn)
        self._upkeep.restart_if_due(conn)

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[None]:
        if self._unit() is not None:
            yield  # joins the unit already open in this task
            return
        unit = _Unit(self, self._thread())
        token = _UNIT.set(unit)
        try:
            yield
        except BaseException:
            if unit.began:
                end_unit(unit, self._commit, failed=True)
            raise
        else:
            if unit.began:
                landed = end_unit(unit, self._commit, failed=False)
                if landed is not None:
                    await landed
        finally:
            _UNIT.reset(token)

    def _commit(self, conn: sqlite3.Connection) -> None:
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise StoreError(f"the store could not commit: {exc}") from exc
        self._wrote(conn)

    # --- life
    async def start(self) -> None:
        if not self.read_only:
            self.start_upkeep()

    def start_upkeep(self, **timing: float) -> None:
        """Move WAL checkpoints and the sweep of expired rows to a thread of their own."""
        self._upkeep.start(**timing)
        state = self._thread()
        for conn in (state.writer, state.reader):
            conn.execute("PRAGMA wal_autocheckpoint=0")

    async def close(self) -> None:
        self.close_now()

    def close_now(self) -> None:
        """close(), for code that runs no event loop."""
        self._upkeep.stop()
        state: _Thread | None = getattr(self._local, "state", None)
        if state is not None:
            state.writer.close()
            state.reader.close()
            self._local.state = None

    async def readiness(self) -> dict[str, str]:
        """The file's schema version, read in place (microseconds)."""
        try:
            sqlite_schema.check(self._thread().reader, self.path)
        except (SchemaOutdated, sqlite3.Error) as exc:
            return {"store": str(exc)}
        return {}

    def records(self, namespace: str) -> RecordView:
        return NamespacedRecords(self, namespace)

    # --- users
    async def add_user(self, user: User) -> None:
        try:
            async with self._write() as db:
                db.execute(
                    "INSERT INTO users (sub, username, data) VALUES (?, ?, ?)",
                    (user.sub, user.username, dump_row(user)),
                )
        except sqlite3.IntegrityError:
            raise Conflict(f"a user named {user.username!r} exists already") from None

    async def update_user(self, user: User) -> None:
        async with self._write() as db:
            db.execute(
                "UPDATE users SET username = ?, data = ? WHERE sub = ?",
                (user.username, dump_row(user), user.sub),
            )

    async def get_user(self, sub: str) -> User | None:
        row = self._reader().execute("SELECT data FROM users WHERE sub = ?", (sub,)).fetchone()
        return load_row(User, row[0]) if row else None

    async def find_user(self, username: str) -> User | None:
        sql = "SELECT data FROM users WHERE username = ?"
        row = self._reader().execute(sql, (username,)).fetchone()
        return load_row(User, row[0]) if row else None

    async def list_users(self) -> list[User]:
        rows = self._reader().execute("SELECT data FROM users ORDER BY username").fetchall()
        return [load_row(User, r[0]) for r in rows]

    async def page_users(self, after: str, limit: int, search: str = "") -> list[User]:
        rows = self._reader().execute(
            f"SELECT data FROM users WHERE username > ? AND {sqlite_schema.USER_SEARCH}"
            " ORDER BY username LIMIT ?",
            (after, search, *(search.lower(),) * 3, limit),
        )
        return [load_row(User, r[0]) for r in rows]

    async def remove_user(self, sub: str) -> bool:
        async with self._write() as db:
            removed: bool = db.execute("DELETE FROM users WHERE sub = ?", (sub,)).rowcount > 0
        return removed

    # --- clients
    async def add_client(self, client: Client) -> None:
        try:
            async with self._write() as db:
                db.execute(
                    "INSERT INTO clients (client_id, data) VALUES (?, ?)",
                    (client.client_id, dump_row(client)),
                )
        except sqlite3.IntegrityError:
            raise Conflict(f"a client with id {client.client_id!r} exists already") from None
        self._clients.pop(client.client_id, None)

    async def get_client(self, client_id: str) -> Client | None:
        now = time.monotonic()
        cached = self._clients.get(client_id)
        unit = self._unit()
        if cached is not None and cached[0] > now and not (unit and unit.began):
            return cached[1]
        sql = "SELECT data FROM clients WHERE client_id = ?"
        row = self._reader().execute(sql, (client_id,)).fetchone()
        client = load_row(Client, row[0]) if row else None
        if len(self._clients) > 10_000:
            self._clients.clear()
        self._clients[client_id] = (now + CLIENT_CACHE_SECONDS, client)
        return client

    async def update_client(self, client: Client) -> bool:
        self._clients.pop(client.client_id, None)
        async with self._write() as db:
            sql = "UPDATE clients SET data = ? WHERE client_id = ?"
            updated: bool = db.execute(sql, (dump_row(client), client.client_id)).rowcount > 0
        return updated

    async def list_clients(self) -> list[Client]:
        rows = self._reader().execute("SELECT data FROM clients ORDER BY client_id").fetchall()
        return [load_row(Client, r[0]) for r in rows]

    async def remove_client(self, client_id: str) -> bool:
        self._clients.pop(client_id, None)
        async with self._write() as db:
            sql = "DELETE FROM clients WHERE client_id = ?"
            removed: bool = db.execute(sql, (client_id,)).rowcount > 0
        return removed

    # --- signing keys
    async def add_key(self, key: SigningKey) -> None:
        async with self._write() as db:
            sql = "INSERT INTO signing_keys (kid, data) VALUES (?, ?)"
            db.execute(sql, (key.kid, dump_row(key)))

    async def update_key(self, key: SigningKey) -> None:
        async with self._write() as db:
            db.execute("UPDATE signing_keys SET data = ? WHERE kid = ?", (dump_row(key), key.kid))

    async def list_keys(self) -> list[SigningKey]:
        rows = self._reader().execute("SELECT data FROM signing_keys").fetchall()
        return sorted((load_row(SigningKey, r[0]) for r in rows), key=lambda k: k.created_at)

    # --- records
    async def upsert(
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
        async with self._write() as db:
            db.execute(
                "INSERT INTO records (key, payload, grant_id, expires_at, consumed, sub,"
                " created_at) VALUES (?, ?, ?, ?, 0, ?, ?) ON CONFLICT (key) DO UPDATE SET"
                " payload = excluded.payload, grant_id = excluded.grant_id,"
                " expires_at = excluded.expires_at, sub = excluded.sub",
                (f"{model}:{id}", dump_payload(payload), grant_id, expires_at, sub, now),
            )

    async def find(self, model: str, id: str) -> JSON | None:
        sql = f"SELECT payload, consumed FROM records WHERE key = ? AND {_LIVE}"
        row = self._reader().execute(sql, (f"{model}:{id}", time.time())).fetchone()
        return load_payload(row[0], row[1]) if row else None

    async def consume(self, model: str, id: str) -> JSON | None:
        async with self._write() as db:
            rows = db.execute(
                "UPDATE records SET consumed = 1 WHERE key = ? AND consumed = 0"
                f" AND {_LIVE} RETURNING payload",
                (f"{model}:{id}", time.time()),
            ).fetchall()
        return load_payload(rows[0][0]) if rows else None

    async def use_up(self, model: str, id: str) -> None:
        if await self.consume(model, id) is None:  # (the unit holds the only writer)
            raise AlreadyUsed(model, id)

    async def destroy(self, model: str, id: str) -> None:
        async with self._write() as db:
            db.execute("DELETE FROM records WHERE key = ?", (f"{model}:{id}",))

    async def revoke_by_grant_id(self, grant_id: str) -> int:
        async with self._write() as db:
            removed: int = db.execute(
                "DELETE FROM records WHERE grant_id = ?", (grant_id,)
            ).rowcount
        return removed

    async def find_by_sub(self, model: str, sub: str) -> list[tuple[str, JSON]]:
        start = f"{model}:"
        rows = self._reader().execute(
            "SELECT key, payload, consumed FROM records WHERE sub = ? AND key >= ? AND key < ?"
            f" AND {_LIVE} ORDER BY created_at, key",
            (sub, start, start + "\U0010ffff", time.time()),
        )
        return [_listed(row) for row in rows]

    async def find_since(self, model: str, since: float) -> list[tuple[str, JSON]]:
        start = f"{model}:"
        rows = self._reader().execute(
            "SELECT key, payload, consumed FROM records WHERE key >= ? AND key < ?"
            f" AND created_at >= ? AND {_LIVE} ORDER BY created_at, key",
            (start, start + "\U0010ffff", since, time.time()),
        )
        return [_listed(row) for row in rows]

    # --- a whole store at once
    async def export_all(self) -> Snapshot:
        return await sqlite_copy.export_all(self, self._reader())

    async def import_all(self, snapshot: Snapshot) -> None:
        async with self.unit(), self._write() as db:
            await sqlite_copy.import_all(self, db, snapshot)

    # --- counters
    async def hit(self, key: str, window: int) -> int:
        now = time.time()
        async with self._write() as db:
            rows = db.execute(
                "INSERT INTO counters (key, count, expires_at) VALUES (?, 1, ?)"
                " ON CONFLICT (key) DO UPDATE SET"
                " count = CASE WHEN expires_at < ? THEN 1 ELSE count + 1 END,"
                " expires_at = CASE WHEN expires_at < ? THEN excluded.expires_at"
                " ELSE expires_at END RETURNING count",
                (key, now + window, now, now),
            ).fetchall()
        return int(rows[0][0])

    async def release(self, key: str) -> None:
        async with self._write() as db:
            sql = "UPDATE counters SET count = count - 1 WHERE key = ? AND count > 0"
            db.execute(sql, (key,))

    async def count(self, key: str) -> int:
        sql = "SELECT count FROM counters WHERE key = ? AND expires_at >= ?"
        row = self._reader().execute(sql, (key, time.time())).fetchone()
        return int(row[0]) if row else 0

    async def clear(self, key: str) -> None:
        async with self._write() as db:
            db.execute("DELETE FROM counters WHERE key = ?", (key,))


def _listed(row: tuple[str, str, int]) -> tuple[str, JSON]:
    """(id, payload) of a records row (key, payload, consumed), as find() has it."""
    key, text, consumed = row
    return key.split(":", 1)[1], load_payload(text, bool(consumed))
