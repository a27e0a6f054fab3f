"""The sqlite store's units of work on one thread's writing connection: one unit writes
at a time, and units that queue up to write share one transaction and one commit."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from idp.errors import StoreError

if TYPE_CHECKING:
    from idp.store.sqlite import SqliteStore

#: commits a connection's transaction, or raises StoreError
Commit = Callable[[sqlite3.Connection], None]

#: a group of units shares one commit until it has this many members ...
MAX_GROUP = 64
#: ... or has been open this long (seconds)
MAX_GROUP_SECONDS = 0.005


@dataclass(eq=False)
class _Group:
    """Units of work whose writes share one transaction and one commit: a unit that
    ends while others wait to write hands the open transaction on (its own writes kept
    under a savepoint), and the last of them commits for all."""

    opened_at: float
    members: int = 0
    #: the members waiting to hear that the commit landed
    waiting: list[asyncio.Future[None]] = field(default_factory=list)


@dataclass(eq=False)
class _Thread:
    """What one thread uses the file with."""

    writer: sqlite3.Connection
    reader: sqlite3.Connection
    lock: asyncio.Lock
    #: tasks waiting for the lock to write
    queued: int = 0
    group: _Group | None = None


@dataclass(eq=False)
class _Unit:
    store: SqliteStore
    thread: _Thread
    #: the unit has written: it holds the thread's lock and an open transaction
    began: bool = False
    #: its writes are kept under a savepoint, since the transaction holds other units'
    #: writes too; the unit that begins a transaction needs none
    savepoint: bool = False


_UNIT: ContextVar[_Unit | None] = ContextVar("idp_sqlite_unit", default=None)


async def take_writer(unit: _Unit, commit: Commit) -> None:
    """A unit's first write: take the thread's writing connection, and join the open
    group's transaction (under a savepoint) or begin one."""
    state = unit.thread
    state.queued += 1
    try:
        await state.lock.acquire()
    finally:
        state.queued -= 1
    try:
        if state.group is None:
            state.writer.execute("BEGIN IMMEDIATE")
            state.group = _Group(time.monotonic())
        else:
            state.writer.execute("SAVEPOINT unit")
            unit.savepoint = True
        unit.began = True
    except BaseException:
        if state.group is None:
            state.lock.release()
        else:  # the group goes on without this unit
            with contextlib.suppress(StoreError):
                hand_on(state, None, commit)
        raise


def end_unit(unit: _Unit, commit: Commit, failed: bool) -> asyncio.Future[None] | None:
    """A unit that wrote has ended: its writes are undone if it `failed`, else kept for
    the group's commit; what `hand_on` returns."""
    state, writer = unit.thread, unit.thread.writer
    if not failed:
        if unit.savepoint:
            writer.execute("RELEASE unit")
        return hand_on(state, asyncio.get_running_loop(), commit)
    if unit.savepoint:
        writer.execute("ROLLBACK TO unit")
        writer.execute("RELEASE unit")
        with contextlib.suppress(StoreError):  # the others that wait are told
            hand_on(state, None, commit)
        return None
    # it began the transaction and held it since: the writes in it are its own alone
    group, state.group = state.group, None
    assert group is not None and not group.members and not group.waiting
    try:
        if writer.in_transaction:
            writer.execute("ROLLBACK")
    finally:
        state.lock.release()
    return None


def hand_on(
    state: _Thread, loop: asyncio.AbstractEventLoop | None, commit: Commit
) -> asyncio.Future[None] | None:
    """A unit of the open group has ended (with `loop`: its writes are to land).
    While others wait to write, the group stays open for them and the unit gets a
    future that tells when the commit landed; otherwise the group commits now, and
    a failed commit raises StoreError here (and in every member that waits)."""
    group = state.group
    assert group is not None
    group.members += 1
    young = time.monotonic() - group.opened_at < MAX_GROUP_SECONDS
    if state.queued and group.members < MAX_GROUP and young:
        landed = loop.create_future() if loop is not None else None
        if landed is not None:
            group.waiting.append(landed)
        state.lock.release()
        # a waiter that gave up leaves the group to be committed all the same
        asyncio.get_running_loop().call_soon(_commit_if_idle, state, group, commit)
        return landed
    _end_group(state, group, commit)
    return None


def _commit_if_idle(state: _Thread, group: _Group, commit: Commit) -> None:
    if state.group is group and not state.lock.locked():
        with contextlib.suppress(StoreError):  # told to the waiting members
            _end_group(state, group, commit, lock_held=False)


def _end_group(
    state: _Thread, group: _Group | None, commit: Commit, lock_held: bool = True
) -> None:
    """Commit the group's transaction (if it was begun) and tell its members."""
    state.group = None
    failure: StoreError | None = None
    try:
        if state.writer.in_transaction:
            commit(state.writer)
    except StoreError as exc:
        failure = exc
    finally:
        if lock_held:
            state.lock.release()
    for landed in group.waiting if group else ():
        if landed.done():
            continue  # its task was cancelled
        if failure is not None:
            landed.set_exception(StoreError(str(failure)))
        else:
            landed.set_result(None)
    if failure is not None:
        raise failure
