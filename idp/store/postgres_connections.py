"""The PostgreSQL store's connections: a pool, the unit of work, and what a server that
cannot be reached becomes (StoreUnavailable, within a bounded time, never a hang).

Statements outside a unit run on a pooled connection in autocommit mode; those that
tasks send in the same turn of the event loop go together, in one round trip and one
commit (postgres_batches.py). A unit takes a connection of its own at its first write
and holds it, with an open transaction, until it ends; a ContextVar finds it, so that
every store call the task makes meanwhile (and nested units) uses it, and other tasks
do not. The pool opens at the first call (or `start()`), which also checks the schema
(postgres_schema.py).

Writes whose outcome the caller does not wait for (`later`: an upsert, a delete, a
NOTIFY) are held back by a unit and sent together with its next statement or its
commit, in one round trip (psycopg's pipeline mode). A unit that wrote only such
statements needs no connection of its own: they go as one batch, atomically, so that a
token endpoint that writes one token costs one round trip, not three.

When the server goes away, the pooled connections break. A connection taken from the
pool that has heard from the server since its last use (an idle one hears nothing,
unless the server closed it) is checked with a round trip first, and then the others
are checked in the background; the pool connects again by itself, and a call waits at
most `timeout` seconds for a connection before it fails.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import select
from collections.abc import AsyncIterator, Callable
from contextlib import (
    AbstractContextManager,
    asynccontextmanager,
)
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, cast

import psycopg
from psycopg import AsyncConnection
from psycopg.conninfo import conninfo_to_dict
from psycopg.pq import TransactionStatus
from psycopg_pool import AsyncConnectionPool

from idp.errors import StoreError, StoreUnavailable
from idp.store import postgres_schema
from idp.store.outages import Outage
from idp.store.postgres_batches import Batches, Statement, Wanted, run_together
from idp.store.postgres_text import translated

log = logging.getLogger("idp")

#: how long a call waits for a connection before it fails with StoreUnavailable
TIMEOUT_SECONDS = 5.0
#: how long the pool goes on connecting again in the background (1, 2, 4 s apart) before
#: it leaves that to the next call: kept short, so that a server back up is soon used
RECONNECT_SECONDS = 5.0
#: connection parameters, unless the URL sets them: a bounded connect, and keepalives
#: that find a server gone silent (a listening connection only ever waits)
_DEFAULTS = {
    "connect_timeout": "5",
    "application_name": "pocket-idp",
    "keepalives_idle": "30",
    "keepalives_interval": "10",
    "keepalives_count": "3",
}

Row = tuple[Any, ...]
Params = tuple[Any, ...]


@dataclass(eq=False)
class _Unit:
    owner: Connections
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    #: the unit has written: its transaction is open on this connection of this pool
    conn: AsyncConnection[Any] | None = None
    pool: AsyncConnectionPool[AsyncConnection[Any]] | None = None
    #: writes held back until the unit's next statement or its commit (`later`)
    pending: list[tuple[str, Params]] = field(default_factory=list)
    #: what to do once its writes have landed
    on_landing: list[Callable[[], None]] = field(default_factory=list)
    #: a statement of the unit failed: it cannot commit
    failed: bool = False

    @property
    def wrote(self) -> bool:
        return self.conn is not None or bool(self.pending)


_UNIT: ContextVar[_Unit | None] = ContextVar("idp_postgres_unit", default=None)


def connect_options(url: str) -> dict[str, Any]:
    """What a connection to `url` is opened with, besides the URL."""
    given = conninfo_to_dict(url)
    return {"autocommit": True, **{k: v for k, v in _DEFAULTS.items() if k not in given}}


def display(url: str) -> str:
    """The URL without its password, to show."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, hostpart = rest.rpartition("@")
    if not sep or not at or ":" not in userinfo:
        return url
    return f"{scheme}://{userinfo.split(':', 1)[0]}@{hostpart}"


def _has_input(conn: AsyncConnection[Any]) -> bool:
    """Has the server sent something (or closed the connection) since its last use?"""
    if conn.closed or conn.broken:
        return True
    poller = select.poll()
    poller.register(conn.fileno(), select.POLLIN)
    return bool(poller.poll(0))


class Connections:
    def __init__(
        self, url: str, *, timeout: float = TIMEOUT_SECONDS, min_size: int = 1, max_size: int = 10
    ) -> None:
        self.url = url
        self.where = display(url)
        self.timeout = timeout
        self._sizes = (min_size, max_size)
        self._pool: AsyncConnectionPool[AsyncConnection[Any]] | None = None
        self._opening = asyncio.Lock()
        self._checking: asyncio.Task[None] | None = None
        self._closing: asyncio.Task[None] | None = None
        self._batches = Batches(self.connection)
        self._outage = Outage()

    # --- the pool
    async def open(self) -> AsyncConnectionPool[AsyncConnection[Any]]:
        """The pool, opened (and the schema checked) by the first call."""
        if self._pool is not None:
            return self._pool
        async with self._opening:
            if self._pool is None:
                self._pool = await self._open_pool()
            return self._pool

    async def _open_pool(self) -> AsyncConnectionPool[AsyncConnection[Any]]:
        """A new pool, once the schema is found right on a connection of its own; nothing
        is left running when it is not, or when the server cannot be reached (said at
        once when it refuses the connection: the pool would try again until its
        timeout)."""
        with self._translated():
            async with await self.connect() as first:
                await postgres_schema.prepare(first, self.where)
        min_size, max_size = self._sizes
        pool: AsyncConnectionPool[AsyncConnection[Any]] = AsyncConnectionPool(
            self.url,
            kwargs=connect_options(self.url),
            min_size=min_size,
            max_size=max_size,
            open=False,
            timeout=self.timeout,
            reconnect_timeout=RECONNECT_SECONDS,
            check=self._check,
            name="idp-store",
        )
        await pool.open()
        self._closing = asyncio.get_running_loop().create_task(
            self._close_when_cancelled(pool),
            name="idp-store-close",
            context=contextvars.Context(),
        )
        return pool

    async def _close_when_cancelled(self, pool: AsyncConnectionPool[Any]) -> None:
        """Wait until cancelled, then close the pool. A command that uses the store and
        ends without `close()` ends with its event loop, which cancels every task left:
        then this one closes the pool (and the next loop to use the store opens another).
        Without it, asyncio.run would wait for ever for psycopg's pool tasks, which go on
        after a cancellation (so as not to lose a connection)."""
        try:
            await asyncio.Event().wait()
        finally:
            if self._pool is pool:
                self._pool = None
            await pool.close()

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if self._closing is not None:
            self._closing.cancel()
        if self._checking is not None:
            self._checking.cancel()
        if pool is not None:
            await pool.close()

    async def connect(self) -> AsyncConnection[Any]:
        """A connection of its own, outside the pool (to listen on)."""
        with self._translated():
            return await AsyncConnection.connect(self.url, **connect_options(self.url))

    def _translated(self) -> AbstractContextManager[None]:
        return translated(self.where, self._check_the_rest)

    async def _check(self, conn: AsyncConnection[Any]) -> None:
        """The pool's check of a connection it hands out (see the module's docstring)."""
        if not _has_input(conn):
            return
        try:
            await AsyncConnectionPool.check_connection(conn)
        except psycopg.Error:
            self._check_the_rest()
            raise

    def _check_the_rest(self) -> None:
        """One connection was found broken: the others in the pool likely are too (the
        server went away), so check them all now, not one call at a time."""
        pool = self._pool
        if pool is None or (self._checking is not None and not self._checking.done()):
            return
        self._checking = asyncio.get_running_loop().create_task(
            pool.check(), name="idp-store-check", context=contextvars.Context()
        )

    # --- statements
    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection[Any]]:
        """A pooled connection in autocommit mode, apart from any unit and batch."""
        pool = await self.open()
        # (the pool's own `connection()` would also commit, which in autocommit mode
        # does nothing, at a cost)
        conn = await self._take(pool)
        with self._translated():
            try:
                yield conn
            finally:
                await pool.putconn(conn)

    async def _take(self, pool: AsyncConnectionPool[AsyncConnection[Any]]) -> AsyncConnection[Any]:
        """A connection from the pool; at once StoreUnavailable while the server is
        found unreachable (outages.py), rather than after `timeout` seconds."""
        if not self._outage.may_try():
            raise StoreUnavailable(f"the store {self.where} cannot be reached at the moment")
        try:
            with self._translated():
                conn = await pool.getconn()
        except StoreUnavailable:
            self._outage.failed()
            raise
        finally:
            self._outage.tried()
        self._outage.ended()
        return conn

    async def later(self, sql: str, params: Params = ()) -> None:
        """A writing statement whose outcome the caller does not wait for: inside a unit
        it goes with the unit's next statement or its commit; outside one, now. Its
        failure fails the unit (at the latest, its commit)."""
        unit = self._unit()
        if unit is None:
            await self.change(sql, params)
        else:
            unit.pending.append((sql, params))

    async def fetch(self, sql: str, params: Params = ()) -> list[Row]:
        """The rows a reading statement gives: a unit that has written reads its own
        writes."""
        unit = self._unit()
        if unit is None or not unit.wrote:
            return cast("list[Row]", await self._batches.send([(sql, params)], "rows"))
        return cast("list[Row]", await self._in_unit(unit, (sql, params), "rows"))

    async def change(self, sql: str, params: Params = ()) -> int:
        """Run a writing statement; how many rows it touched."""
        unit = self._unit()
        if unit is None:
            return cast(int, await self._batches.send([(sql, params)], "count"))
        return cast(int, await self._in_unit(unit, (sql, params), "count"))

    async def change_returning(self, sql: str, params: Params = ()) -> list[Row]:
        unit = self._unit()
        if unit is None:
            return cast("list[Row]", await self._batches.send([(sql, params)], "rows"))
        return cast("list[Row]", await self._in_unit(unit, (sql, params), "rows"))

    async def _in_unit(self, unit: _Unit, statement: Statement, wanted: Wanted) -> Any:
        """Run `statement` in the unit's transaction, and what the unit held back before
        it, in one round trip; at the unit's first statement that needs an answer, the
        transaction begins in that same round trip."""
        async with unit.lock:  # tasks the unit's task started share it
            if unit.conn is None:
                pool = await self.open()
                unit.conn, unit.pool = await self._take(pool), pool
                unit.pending.insert(0, ("BEGIN", ()))
            statements, unit.pending = [*unit.pending, statement], []
            try:
                with self._translated():
                    return await run_together(unit.conn, statements, wanted, own_transaction=False)
            except BaseException:
                unit.failed = True
                raise

    # --- units
    def _unit(self) -> _Unit | None:
        unit = _UNIT.get()
        return unit if unit is not None and unit.owner is self else None

    def in_written_unit(self) -> bool:
        unit = self._unit()
        return unit is not None and unit.wrote

    def when_landed(self, action: Callable[[], None]) -> None:
        """Do `action` once what was written so far has landed: now outside a unit, when
        it commits inside one (never, if it rolls back)."""
        unit = self._unit()
        if unit is not None and unit.wrote:
            unit.on_landing.append(action)
        else:
            action()

    async def _land(self, unit: _Unit) -> None:
        """Commit the unit: what it held back goes with the COMMIT. A unit that sent
        nothing yet sends what it held back alone, in autocommit mode (in one implicit
        transaction, with other tasks' statements of the moment: postgres_batches.py)."""
        if unit.conn is None:
            await self._batches.send(unit.pending, "nothing")
            return
        conn = unit.conn
        with self._translated():
            if unit.failed or conn.info.transaction_status == TransactionStatus.INERROR:
                # a statement failed and the caller went on: PostgreSQL would turn the
                # COMMIT into a ROLLBACK without a word (or commit what went before a
                # statement that never reached it)
                await self._rollback(conn)
                raise StoreError(
                    f"the store {self.where} could not commit: a statement of the unit failed"
                )
            await run_together(
                conn, [*unit.pending, ("COMMIT", ())], "nothing", own_transaction=False
            )

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[None]:
        if self._unit() is not None:
            yield  # joins the unit already open in this task
            return
        unit = _Unit(self)
        token = _UNIT.set(unit)
        try:
            yield
        except BaseException:
            if unit.conn is not None:
                await self._rollback(unit.conn)
            raise
        else:
            if unit.wrote:
                try:
                    await self._land(unit)
                except BaseException:
                    if unit.conn is not None:
                        await self._rollback(unit.conn)
                    raise
                for action in unit.on_landing:
                    action()
        finally:
            _UNIT.reset(token)
            if unit.conn is not None and unit.pool is not None:
                await unit.pool.putconn(unit.conn)  # (a closed pool closes it)

    async def _rollback(self, conn: AsyncConnection[Any]) -> None:
        if conn.closed or conn.broken:
            return  # nothing was kept; the pool drops the connection
        try:
            await conn.execute("ROLLBACK")
        except psycopg.Error as exc:  # the pool drops a connection it cannot reset
            log.debug("rollback on %s failed: %s", self.where, exc)


async def upgrade_database(url: str) -> tuple[int, int]:
    """`idp db upgrade` for a PostgreSQL database (an empty one gets the whole schema):
    the versions before and after."""
    with translated(display(url)):
        async with await AsyncConnection.connect(url, **connect_options(url)) as conn:
            return await postgres_schema.upgrade(conn)
