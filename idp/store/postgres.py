"""The networked store: PostgreSQL, shared by every process and node of a deployment.

Every call is one statement and one round trip, awaited on the event loop (psycopg's
asyncio connections, from a pool: postgres_connections.py). Single-use steps are single
statements: `consume` marks a record used only if it was not yet (UPDATE ... RETURNING),
so that of any number of concurrent consumers in any processes exactly one gets it, and
`hit` counts with one upsert. A unit of work is one transaction; two units that write
the same row take turns (its row lock), and each statement of a unit reads what was
committed before it (READ COMMITTED). Times are the epoch seconds of the process that
writes, as in the sqlite file. Wake-ups go to the other processes through LISTEN/NOTIFY
(postgres_wakeups.py); expired rows are swept by a background task (postgres_upkeep.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import time
from contextlib import AbstractAsyncContextManager

from idp.errors import Conflict, SchemaOutdated, StoreError
from idp.store import postgres_schema
from idp.store.base import (
    JSON,
    READINESS_TIMEOUT,
    Client,
    RecordView,
    SigningKey,
    Snapshot,
    StoredCounter,
    StoredRecord,
    User,
)
from idp.store.codec import dump_payload, dump_row, load_payload, load_row
from idp.store.namespaced import NamespacedRecords
from idp.store.postgres_connections import TIMEOUT_SECONDS, Connections, Row
from idp.store.postgres_text import as_text, from_text
from idp.store.postgres_upkeep import SWEEP_SECONDS, keep_sweeping
from idp.store.postgres_wakeups import PostgresWakeups

#: clients are read on every token request; a change made by another process (the `idp`
#: command, another node) is seen by a running server within this many seconds
CLIENT_CACHE_SECONDS = 5.0

_LIVE = "(expires_at IS NULL OR expires_at >= %s)"

#: a user whose username, name or email holds the search; only ASCII letters are folded,
#: as sqlite's lower() does, so that every backend finds the same users
_ASCII_LOWER = "translate({}, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"
_SEARCH = (
    "(%s = '' OR strpos(" + _ASCII_LOWER.format("username") + ", %s) > 0"
    " OR strpos(" + _ASCII_LOWER.format("coalesce(data::json ->> 'name', '')") + ", %s) > 0"
    " OR strpos(" + _ASCII_LOWER.format("coalesce(data::json ->> 'email', '')") + ", %s) > 0)"
)


def _fold_ascii(text: str) -> str:
    return "".join(c.lower() if "A" <= c <= "Z" else c for c in text)


class PostgresStore:
    def __init__(
        self,
        url: str,
        *,
        timeout: float = TIMEOUT_SECONDS,
        pool_size: int = 10,
        sweep_every: float = SWEEP_SECONDS,
        listen: bool = True,
    ) -> None:
        """`url`: postgresql://user@host:port/database. A call fails with
        StoreUnavailable when it has had no connection for `timeout` seconds. Without
        `listen`, `start` opens no connection to listen on (another channel carries the
        wake-ups: cached.py)."""
        self._db = Connections(url, timeout=timeout, max_size=pool_size)
        self.wakeups = PostgresWakeups(self._db)
        self._sweep_every = sweep_every
        self._listen = listen
        self._sweeping: asyncio.Task[None] | None = None
        self._clients: dict[str, tuple[float, Client | None]] = {}

    @property
    def where(self) -> str:
        """The database, as shown in messages (without a password)."""
        return self._db.where

    # --- life
    async def start(self) -> None:
        """Open the pool (creating the schema in an empty database, refusing an older
        one: SchemaOutdated), listen for other processes' wake-ups, and sweep expired
        rows from now on. Calls made without it open the pool themselves."""
        await self._db.open()
        if self._listen:
            await self.wakeups.start()
        if self._sweeping is None:
            self._sweeping = asyncio.get_running_loop().create_task(
                keep_sweeping(self._db, self._sweep_every),
                name="idp-store-sweep",
                context=contextvars.Context(),
            )

    async def close(self) -> None:
        sweeping, self._sweeping = self._sweeping, None
        if sweeping is not None:
            sweeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeping
        await self.wakeups.close()
        await self._db.close()

    async def readiness(self) -> dict[str, str]:
        """One round trip on a pooled connection, which reads the schema's version."""
        try:
            async with asyncio.timeout(READINESS_TIMEOUT), self._db.connection() as conn:
                await postgres_schema.check(conn, self.where)
        except TimeoutError:
            return {"store": f"the store {self.where} did not answer in {READINESS_TIMEOUT:g} s"}
        except (StoreError, SchemaOutdated) as exc:
            return {"store": str(exc).splitlines()[0]}
        return {}

    def records(self, namespace: str) -> RecordView:
        return NamespacedRecords(self, namespace)

    def unit(self) -> AbstractAsyncContextManager[None]:
        return self._db.unit()

    # --- users
    async def add_user(self, user: User) -> None:
        added = await self._db.change(
            "INSERT INTO users (sub, username, data) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
            (as_text(user.sub), as_text(user.username), dump_row(user)),
        )
        if not added:
            raise Conflict(f"a user named {user.username!r} exists already")

    async def update_user(self, user: User) -> None:
        await self._db.change(
            "UPDATE users SET username = %s, data = %s WHERE sub = %s",
            (as_text(user.username), dump_row(user), as_text(user.sub)),
        )

    async def get_user(self, sub: str) -> User | None:
        rows = await self._db.fetch("SELECT data FROM users WHERE sub = %s", (as_text(sub),))
        return load_row(User, rows[0][0]) if rows else None

    async def find_user(self, username: str) -> User | None:
        rows = await self._db.fetch(
            "SELECT data FROM users WHERE username = %s", (as_text(username),)
        )
        return load_row(User, rows[0][0]) if rows else None

    async def list_users(self) -> list[User]:
        rows = await self._db.fetch("SELECT data FROM users ORDER BY username")
        return [load_row(User, r[0]) for r in rows]

    async def page_users(self, after: str, limit: int, search: str = "") -> list[User]:
        folded = as_text(_fold_ascii(search))
        rows = await self._db.fetch(
            f"SELECT data FROM users WHERE username > %s AND {_SEARCH} ORDER BY username LIMIT %s",
            (as_text(after), as_text(search), folded, folded, folded, limit),
        )
        return [load_row(User, r[0]) for r in rows]

    async def remove_user(self, sub: str) -> bool:
        return await self._db.change("DELETE FROM users WHERE sub = %s", (as_text(sub),)) > 0

    # --- clients
    async def add_client(self, client: Client) -> None:
        added = await self._db.change(
            "INSERT INTO clients (client_id, data) VALUES (%s, %s) ON CONFLICT DO NOTHING",
            (as_text(client.client_id), dump_row(client)),
        )
        if not added:
            raise Conflict(f"a client with id {client.client_id!r} exists already")
        self._clients.pop(client.client_id, None)

    async def get_client(self, client_id: str) -> Client | None:
        now = time.monotonic()
        cached = self._clients.get(client_id)
        if cached is not None and cached[0] > now and not self._db.in_written_unit():
            return cached[1]
        sql = "SELECT data FROM clients WHERE client_id = %s"
        rows = await self._db.fetch(sql, (as_text(client_id),))
        client = load_row(Client, rows[0][0]) if rows else None
        if len(self._clients) > 10_000:
            self._clients.clear()
        self._clients[client_id] = (now + CLIENT_CACHE_SECONDS, client)
        return client

    async def update_client(self, client: Client) -> bool:
        self._clients.pop(client.client_id, None)
        sql = "UPDATE clients SET data = %s WHERE client_id = %s"
        updated = await self._db.change(sql, (dump_row(client), as_text(client.client_id))) > 0
        self._clients.pop(client.client_id, None)
        return updated

    async def list_clients(self) -> list[Client]:
        rows = await self._db.fetch("SELECT data FROM clients ORDER BY client_id")
        return [load_row(Client, r[0]) for r in rows]

    async def remove_client(self, client_id: str) -> bool:
        self._clients.pop(client_id, None)
        sql = "DELETE FROM clients WHERE client_id = %s"
        return await self._db.change(sql, (as_text(client_id),)) > 0

    # --- signing keys
    async def add_key(self, key: SigningKey) -> None:
        sql = "INSERT INTO signing_keys (kid, data) VALUES (%s, %s)"
        await self._db.change(sql, (as_text(key.kid), dump_row(key)))

    async def update_key(self, key: SigningKey) -> None:
        sql = "UPDATE signing_keys SET data = %s WHERE kid = %s"
        await self._db.change(sql, (dump_row(key), as_text(key.kid)))

    async def list_keys(self) -> list[SigningKey]:
        rows = await self._db.fetch("SELECT data FROM signing_keys")
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
        await self._db.later(
            "INSERT INTO records (model, id, payload, grant_id, expires_at, sub, created_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (model, id) DO UPDATE SET"
            " payload = excluded.payload, grant_id = excluded.grant_id,"
            " expires_at = excluded.expires_at, sub = excluded.sub",
            (
                model,
                as_text(id),
                dump_payload(payload),
                _optional(grant_id),
                expires_at,
                _optional(sub),
                now,
            ),
        )

    async def find(self, model: str, id: str) -> JSON | None:
        rows = await self._db.fetch(
            f"SELECT payload, consumed FROM records WHERE model = %s AND id = %s AND {_LIVE}",
            (model, as_text(id), time.time()),
        )
        return load_payload(rows[0][0], rows[0][1]) if rows else None

    async def consume(self, model: str, id: str) -> JSON | None:
        rows = await self._db.change_returning(
            "UPDATE records SET consumed = true WHERE model = %s AND id = %s"
            f" AND NOT consumed AND {_LIVE} RETURNING payload",
            (model, as_text(id), time.time()),
        )
        return load_payload(rows[0][0]) if rows else None

    async def use_up(self, model: str, id: str) -> None:
        # held back with the unit's other writes: the function fails the transaction
        # when the record was used already (AlreadyUsed, as `translated` has it), so the
        # unit needs no answer before it lands
        sql = "SELECT idp_use_up(%s, %s, %s)"
        await self._db.later(sql, (model, as_text(id), time.time()))

    async def destroy(self, model: str, id: str) -> None:
        sql = "DELETE FROM records WHERE model = %s AND id = %s"
        await self._db.later(sql, (model, as_text(id)))

    async def revoke_by_grant_id(self, grant_id: str) -> int:
        sql = "DELETE FROM records WHERE grant_id = %s"
        return await self._db.change(sql, (as_text(grant_id),))

    async def find_by_sub(self, model: str, sub: str) -> list[tuple[str, JSON]]:
        rows = await self._db.fetch(
            "SELECT id, payload, consumed FROM records WHERE model = %s AND sub = %s"
            f" AND {_LIVE} ORDER BY created_at, id",
            (model, as_text(sub), time.time()),
        )
        return [_listed(row) for row in rows]

    async def find_since(self, model: str, since: float) -> list[tuple[str, JSON]]:
        rows = await self._db.fetch(
            "SELECT id, payload, consumed FROM records WHERE model = %s AND created_at >= %s"
            f" AND {_LIVE} ORDER BY created_at, id",
            (model, since, time.time()),
        )
        return [_listed(row) for row in rows]

    # --- a whole store at once
    async def export_all(self) -> Snapshot:
        now = time.time()
        records = await self._db.fetch(
            "SELECT model, id, payload, expires_at, grant_id, consumed, sub, created_at"
            f" FROM records WHERE {_LIVE} ORDER BY created_at, model, id",
            (now,),
        )
        counters = await self._db.fetch(
            "SELECT key, count, expires_at FROM counters WHERE expires_at >= %s", (now,)
        )
        return Snapshot(
            users=await self.list_users(),
            clients=await self.list_clients(),
            keys=await self.list_keys(),
            records=[
                StoredRecord(
                    model,
                    from_text(id),
                    load_payload(payload),
                    expires_at,
                    None if grant_id is None else from_text(grant_id),
                    consumed,
                    None if sub is None else from_text(sub),
                    created_at,
                )
                for model, id, payload, expires_at, grant_id, consumed, sub, created_at in records
            ],
            counters=[StoredCounter(from_text(key), n, until) for key, n, until in counters],
        )

    async def import_all(self, snapshot: Snapshot) -> None:
        async with self.unit():
            for user in snapshot.users:
                await self.add_user(user)
            for client in snapshot.clients:
                await self.add_client(client)
            for key in snapshot.keys:
                await self.add_key(key)
            for r in snapshot.records:
                await self._db.later(
                    "INSERT INTO records (model, id, payload, grant_id, expires_at, consumed,"
                    " sub, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                    (
                        r.model,
                        as_text(r.id),
                        dump_payload(r.payload),
                        _optional(r.grant_id),
                        r.expires_at,
                        r.consumed,
                        _optional(r.sub),
                        r.created_at,
                    ),
                )
            for c in snapshot.counters:
                await self._db.later(
                    "INSERT INTO counters (key, count, expires_at) VALUES (%s, %s, %s)",
                    (as_text(c.key), c.count, c.expires_at),
                )

    # --- counters
    async def hit(self, key: str, window: int) -> int:
        now = time.time()
        rows = await self._db.change_returning(
            "INSERT INTO counters AS c (key, count, expires_at) VALUES (%s, 1, %s)"
            " ON CONFLICT (key) DO UPDATE SET"
            " count = CASE WHEN c.expires_at < %s THEN 1 ELSE c.count + 1 END,"
            " expires_at = CASE WHEN c.expires_at < %s THEN excluded.expires_at"
            " ELSE c.expires_at END RETURNING count",
            (as_text(key), now + window, now, now),
        )
        return int(rows[0][0])

    async def release(self, key: str) -> None:
        sql = "UPDATE counters SET count = count - 1 WHERE key = %s AND count > 0"
        await self._db.later(sql, (as_text(key),))

    async def count(self, key: str) -> int:
        sql = "SELECT count FROM counters WHERE key = %s AND expires_at >= %s"
        rows = await self._db.fetch(sql, (as_text(key), time.time()))
        return int(rows[0][0]) if rows else 0

    async def clear(self, key: str) -> None:
        await self._db.later("DELETE FROM counters WHERE key = %s", (as_text(key),))


def _listed(row: Row) -> tuple[str, JSON]:
    """(id, payload) of a records row (id, payload, consumed), as find() has it."""
    id, text, consumed = row
    return from_text(id), load_payload(text, consumed)


def _optional(key: str | None) -> str | None:
    return None if key is None else as_text(key)
