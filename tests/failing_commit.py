"""A store whose next commits fail, as on a full disk: for tests of what then lands."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from idp.store.sqlite import SqliteStore, _Thread
from idp.store.timed import TimedStore


class _CommitFails:
    """A sqlite connection whose COMMIT raises; everything else goes through."""

    def __init__(self, conn: sqlite3.Connection, message: str) -> None:
        self.conn = conn
        self.message = message

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if sql == "COMMIT":
            raise sqlite3.OperationalError(self.message)
        return self.conn.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)


@contextmanager
def commits_fail(store: Any, message: str = "database or disk is full") -> Iterator[None]:
    """Within the block, the commits of units of work fail with `message`, on every
    thread. `store` is a SqliteStore, the provider's timed view of one, or a test's
    Blocking view of either."""
    store = getattr(store, "_target", store)
    if isinstance(store, TimedStore):
        store = store.wrapped
    assert isinstance(store, SqliteStore)
    real = store._thread

    def failing() -> _Thread:
        state = real()
        return _Thread(_CommitFails(state.writer, message), state.reader, state.lock)  # type: ignore[arg-type]

    store._thread = failing  # type: ignore[method-assign]
    try:
        yield
    finally:
        del store._thread
