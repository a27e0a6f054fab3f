"""Statements of concurrent tasks sent together: one round trip and one commit for many.

Outside a unit of work every statement commits by itself. The tasks that send one in the
same turn of the event loop share a batch: their statements go down one pooled
connection in one pipeline, in the order they were sent, and commit together (one
transaction); each caller gets its own
statement's result once that commit is in. Under load this saves most of a statement's
cost on both sides of the connection: a round trip wakes each side once for the whole
batch, and PostgreSQL flushes its log once.

A batch is all or nothing, as a transaction is. When a statement of it fails, nothing of
the batch was kept, and each caller's statements are sent again on their own, so that
one caller's error never becomes another's. A batch of one statement is sent as it
would be alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import itertools
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Literal

import psycopg
from psycopg import AsyncConnection, AsyncCursor
from psycopg.pq import TransactionStatus

from idp.errors import StoreError, StoreUnavailable

#: a batch takes no more callers than this; the next one starts another
MAX_CALLERS = 64

Params = tuple[Any, ...]
Statement = tuple[str, Params]
#: what a caller gets back: the rows of its last statement, how many rows that touched,
#: or nothing
Wanted = Literal["rows", "count", "nothing"]


@dataclass(eq=False)
class _Caller:
    statements: list[Statement]
    wanted: Wanted
    answer: asyncio.Future[Any]

    def give(self, result: Any) -> None:
        if not self.answer.done():  # (a caller that was cancelled waits no more)
            self.answer.set_result(result)

    def fail(self, exc: BaseException) -> None:
        if self.answer.done():
            return
        if isinstance(exc, asyncio.CancelledError):
            self.answer.cancel()
        else:
            self.answer.set_exception(exc)


class Batches:
    def __init__(
        self, connection: Callable[[], AbstractAsyncContextManager[AsyncConnection[Any]]]
    ) -> None:
        """`connection`: a pooled connection in autocommit mode, whose failures come out
        as StoreError and StoreUnavailable."""
        self._connection = connection
        self._gathering: list[_Caller] | None = None
        self._sending: set[asyncio.Task[None]] = set()

    async def send(self, statements: list[Statement], wanted: Wanted) -> Any:
        """Run `statements` (atomically: all of them or none), committed when this
        returns; their result as `wanted`."""
        loop = asyncio.get_running_loop()
        caller = _Caller(statements, wanted, loop.create_future())
        batch = self._gathering
        if batch is not None and len(batch) < MAX_CALLERS:
            batch.append(caller)
        else:
            # the batch goes once the tasks that are ready to run in this turn have run
            self._gathering = batch = [caller]
            task = loop.create_task(
                self._send(batch), name="idp-store-batch", context=contextvars.Context()
            )
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)
        return await caller.answer

    async def _send(self, batch: list[_Caller]) -> None:
        if self._gathering is batch:
            self._gathering = None
        try:
            try:
                results = await self._run(batch)
            except StoreUnavailable:
                raise
            except StoreError:
                if len(batch) == 1:
                    raise
                await self._send_one_by_one(batch)
                return
            for caller, result in zip(batch, results, strict=True):
                caller.give(result)
        except BaseException as exc:
            for caller in batch:
                caller.fail(exc)
            if not isinstance(exc, Exception):
                raise

    async def _send_one_by_one(self, batch: list[_Caller]) -> None:
        for caller in batch:
            try:
                [result] = await self._run([caller])
            except StoreError as exc:
                caller.fail(exc)
            else:
                caller.give(result)

    async def _run(self, batch: list[_Caller]) -> list[Any]:
        async with self._connection() as conn:
            if len(batch) == 1:
                return [await run_together(conn, batch[0].statements, batch[0].wanted)]
            statements = [statement for caller in batch for statement in caller.statements]
            last = [len(caller.statements) for caller in batch]
            try:
                cursors = await _pipelined(conn, [("BEGIN", ()), *statements, ("COMMIT", ())])
            except BaseException:
                # a statement that failed to go (one whose parameters cannot be sent,
                # say) leaves the transaction open, with what went before it
                await _roll_back(conn)
                raise
            ends = list(itertools.accumulate(last))
            return [
                await _result(cursors[end], caller.wanted)  # (cursors[0] is BEGIN's)
                for caller, end in zip(batch, ends, strict=True)
            ]


async def run_together(
    conn: AsyncConnection[Any],
    statements: list[Statement],
    wanted: Wanted,
    *,
    own_transaction: bool = True,
) -> Any:
    """Run `statements` on `conn` in one round trip; the result of the last as
    `wanted`. More than one statement go in a transaction of their own, unless the
    caller has one open (`own_transaction=False`)."""
    if len(statements) == 1:
        [(sql, params)] = statements
        return await _result(await conn.execute(sql, params), wanted)
    if not own_transaction:
        return await _result((await _pipelined(conn, statements))[-1], wanted)
    try:
        cursors = await _pipelined(conn, [("BEGIN", ()), *statements, ("COMMIT", ())])
    except BaseException:
        await _roll_back(conn)
        raise
    return await _result(cursors[-2], wanted)


async def _pipelined(
    conn: AsyncConnection[Any], statements: list[Statement]
) -> list[AsyncCursor[Any]]:
    """Statements sent together, in psycopg's pipeline mode; their cursors. The first
    that fails raises, and the rest do not run."""
    cursors = []
    try:
        async with conn.pipeline():
            for sql, params in statements:
                cursors.append(await conn.execute(sql, params))
    except psycopg.Error as exc:
        if exc.sqlstate is not None and not conn.closed:
            # PostgreSQL skipped the statements after the one that failed, and psycopg
            # may count one of them as prepared under a name that the server never saw
            # (which a later statement would fail on): the connection goes, and the
            # pool opens another
            await conn.close()
        raise
    return cursors


async def _roll_back(conn: AsyncConnection[Any]) -> None:
    if conn.closed or conn.broken or conn.info.transaction_status == TransactionStatus.IDLE:
        return
    with contextlib.suppress(psycopg.Error):  # the pool drops a connection it cannot reset
        await conn.execute("ROLLBACK")


async def _result(cursor: AsyncCursor[Any], wanted: Wanted) -> Any:
    if wanted == "rows":
        return await cursor.fetchall()
    if wanted == "count":
        return cursor.rowcount
    return None
