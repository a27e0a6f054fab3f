"""Connections to the sqlite file that write nothing to it: for commands that only read.

An ordinary connection that only reads may still change the store's files. When it is the
last one to close, sqlite copies what the WAL holds into the database file and removes
the WAL and its index (the -shm file), so the bytes of a store that a server left in the
middle of its work (killed, or still running) change; and a reader marks its place in the
index. How a read-only store connects avoids both; it is chosen once, when the store
opens, by what is there:

- an index (-shm) file: a server has the file open, or stopped without closing it. The
  file and its index are opened read-only (`mode=ro`, and `readonly_shm`, which sqlite's
  unix VFS reads); sqlite then reads the WAL through an index of its own in memory. A
  read-only connection never copies the WAL in, so no byte of the three files changes.
- only the database file: the last server closed it cleanly, having copied its WAL in.
  Ordinary connections that refuse writes (`query_only`): the empty WAL and index they
  make go again when the last of them closes, and from an empty WAL nothing is copied.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from idp.errors import StoreError


class ReadOnlyFile:
    """How the connections of a read-only store open the file at `path`, which must
    exist; a file that cannot be read raises StoreError."""

    def __init__(self, path: str) -> None:
        self.path = path
        with self._unreadable():
            self._database, self._query_only = _access(path)

    def connect(self) -> sqlite3.Connection:
        with self._unreadable():
            conn = _opened(self._database)
            if self._query_only:
                conn.execute("PRAGMA query_only=ON")
        return conn

    @contextmanager
    def _unreadable(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read the store {self.path}: {exc}") from None


def _access(path: str) -> tuple[str, bool]:
    """The URI to open, and whether the connections must refuse writes themselves."""
    file = f"file:{quote(path)}"
    if Path(f"{path}-shm").exists():
        try:
            _opened(f"{file}?mode=ro&readonly_shm=1").close()
            return f"{file}?mode=ro&readonly_shm=1", False
        except sqlite3.OperationalError:
            pass  # the server closed the file meanwhile, and its index went with it
    if Path(f"{path}-wal").exists():
        return f"{file}?mode=ro", False  # a WAL without its index: reading needs one
    return f"{file}?mode=rw", True  # rw: a file that is not there is not made


def _opened(database: str) -> sqlite3.Connection:
    """A connection that has read the schema: sqlite opens the files at the first read,
    so a file it cannot read fails here and not later."""
    conn = sqlite3.connect(database, uri=True, timeout=10, isolation_level=None)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error:
        conn.close()
        raise
    return conn
