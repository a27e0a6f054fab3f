"""The sqlite file's upkeep: WAL checkpoints and the sweep of expired rows, in a thread of
their own so that a request never waits for an fsync."""

from __future__ import annotations

import sqlite3
import threading
import time

#: how often the WAL is copied into the database
CHECKPOINT_SECONDS = 0.1
#: the WAL starts over once it holds this many pages (4 KiB each, so about 16 MiB)
WAL_RESTART_FRAMES = 4096
#: how long a RESTART checkpoint waits for other processes' readers
RESTART_WAIT_MS = 20
#: how often expired rows are swept, in batches of this many rows
SWEEP_SECONDS = 30.0
_SWEEP_BATCH = 500


class Upkeep:
    """The maintenance thread of one sqlite file.

    A PASSIVE checkpoint never holds a writer up, but alone it never lets a busy server's
    WAL start over either: writes keep coming while it copies, so it never catches up,
    and the WAL then grows without end (hundreds of megabytes a minute under load, each
    write into new file space costing far more than a write over space already there). A
    RESTART checkpoint from this thread would hold the server's writes up while it
    finishes, and a writer held up by sqlite sleeps whole milliseconds at a time. So the
    restart is left to the writer itself (`restart_if_due`), between two of its own
    writes, when only the frames of the last moments are left to copy.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.restart_due = False
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(
        self, interval: float = CHECKPOINT_SECONDS, sweep_every: float = SWEEP_SECONDS
    ) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, args=(interval, sweep_every), name="idp-sqlite", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join()

    def _run(self, interval: float, sweep_every: float) -> None:
        conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        next_sweep = time.monotonic() + sweep_every
        try:
            while not self._stop.wait(interval):
                self._checkpoint(conn)
                if time.monotonic() >= next_sweep:
                    sweep(conn)
                    next_sweep = time.monotonic() + sweep_every
        finally:
            conn.close()

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        """Copy the WAL into the database; once it is large, ask for a restart."""
        row = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        frames = row[1] if row else 0  # in the WAL since it last started over
        if frames > WAL_RESTART_FRAMES:
            self.restart_due = True

    def restart_if_due(self, conn: sqlite3.Connection) -> None:
        """After a write outside a transaction: start the WAL over when it has grown large.
        The few frames not yet copied are copied here, and the next write starts the WAL
        from its beginning."""
        if not self.restart_due or conn.in_transaction:
            return
        self.restart_due = False
        conn.execute(f"PRAGMA busy_timeout={RESTART_WAIT_MS}")
        try:
            conn.execute("PRAGMA wal_checkpoint(RESTART)")
        finally:
            conn.execute("PRAGMA busy_timeout=10000")


def sweep(conn: sqlite3.Connection) -> None:
    """Delete expired rows in small batches, walking the table once in rowid order: the
    expired rows are found by reading, which never holds writers up, and each batch is
    deleted in a short write."""
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
