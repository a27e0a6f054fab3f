"""The sqlite file's schema, in numbered steps; `PRAGMA user_version` says which it has.

A new file gets every step at once. A file made by an older version is upgraded only by
`idp db upgrade`: a server or command that opens it refuses with a message naming that
command, so that an upgrade is never a side effect of starting something.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from idp.errors import SchemaOutdated

_CREATE_V1 = """
CREATE TABLE IF NOT EXISTS users (
    sub TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS clients (
    client_id TEXT PRIMARY KEY,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS signing_keys (
    kid TEXT PRIMARY KEY,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS records (
    key TEXT PRIMARY KEY,
    payload TEXT NOT NULL,
    grant_id TEXT,
    expires_at REAL,
    consumed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS records_grant ON records (grant_id) WHERE grant_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS counters (
    key TEXT PRIMARY KEY,
    count INTEGER NOT NULL,
    expires_at REAL NOT NULL
);
"""

#: records name their user and their time of creation in columns of their own (the
#: indexes by user and by time); what older versions kept as key prefixes and index
#: records is carried over
_V2 = """
ALTER TABLE records ADD COLUMN sub TEXT;
ALTER TABLE records ADD COLUMN created_at REAL NOT NULL DEFAULT 0;
CREATE INDEX records_sub ON records (sub, created_at) WHERE sub IS NOT NULL;
UPDATE records SET sub = substr(key, instr(key, ':') + 1,
        instr(substr(key, instr(key, ':') + 1), ':') - 1)
    WHERE key LIKE 'consent:%:%' OR key LIKE 'pocket-recovery:%:%';
UPDATE records SET sub = json_extract(payload, '$.sub')
    WHERE key LIKE 'pocket-device:%' OR key LIKE 'pocket-challenge:%';
UPDATE records SET created_at = coalesce(json_extract(payload, '$.at'), 0)
    WHERE key GLOB 'pocket_audit:*';
UPDATE records SET created_at = coalesce(json_extract(payload, '$.paired_at'), 0)
    WHERE key LIKE 'pocket-device:%';
UPDATE records SET created_at = coalesce(json_extract(payload, '$.created_at'), 0)
    WHERE key LIKE 'pocket-challenge:%' OR key LIKE 'pocket-recovery:%';
DELETE FROM records WHERE key GLOB 'pocket-user-device:*' OR key GLOB 'pocket-pending:*';
UPDATE records SET key = 'pocket-audit:' || substr(key, 14) WHERE key GLOB 'pocket_audit:*';
"""

#: each step takes the schema from the version before it to its own number (1-based)
MIGRATIONS: tuple[str, ...] = (_CREATE_V1, _V2)
LATEST = len(MIGRATIONS)


def version(conn: sqlite3.Connection) -> int:
    row = conn.execute("PRAGMA user_version").fetchone()
    return int(row[0]) if row else 0


def _is_empty(conn: sqlite3.Connection) -> bool:
    count: int = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    return count == 0


def prepare(conn: sqlite3.Connection, path: str) -> None:
    """Create the schema in a new file; refuse a file whose schema is older."""
    if _is_empty(conn):
        upgrade(conn)  # a new file (or one another process is making right now)
        return
    check(conn, path)


def check(conn: sqlite3.Connection, path: str) -> None:
    """Refuse a file that has no schema, or one older or newer than this version's."""
    if _is_empty(conn):
        raise SchemaOutdated(f"the store {path} is empty: it has no tables yet")
    found = version(conn)
    # a file made before versions were numbered has the tables of step 1
    if found < LATEST:
        raise SchemaOutdated(
            f"the store {path} has schema version {found or 1}, this version of the IdP"
            f" needs {LATEST}: run `idp db upgrade` (back the file up first)"
        )
    if found > LATEST:
        raise SchemaOutdated(
            f"the store {path} has schema version {found}, newer than this version of the"
            f" IdP knows ({LATEST}): run the newer version"
        )


def upgrade(conn: sqlite3.Connection) -> tuple[int, int]:
    """Apply the missing steps in one transaction; the versions before and after. The
    version is read once the write lock is held, so two processes that create a new file
    at the same moment take turns and the second finds the schema made."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        found = version(conn)
        if found == 0 and not _is_empty(conn):
            found = 1  # the tables of step 1, from before versions were numbered
        for number, step in enumerate(MIGRATIONS[found:], start=found + 1):
            for statement in _statements(step):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return found, LATEST


def upgrade_file(path: str) -> tuple[int, int]:
    """`idp db upgrade` for a sqlite file, which must exist."""
    if not Path(path).is_file():
        raise SchemaOutdated(f"there is no store at {path}: nothing to upgrade")
    conn = sqlite3.connect(path, timeout=10, isolation_level=None)
    try:
        return upgrade(conn)
    finally:
        conn.close()


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


#: a user whose username, name or email holds the search (lower() folds ASCII alone)
USER_SEARCH = (
    "(? = '' OR instr(lower(username), ?) > 0"
    " OR instr(lower(coalesce(json_extract(data, '$.name'), '')), ?) > 0"
    " OR instr(lower(coalesce(json_extract(data, '$.email'), '')), ?) > 0)"
)

#: tries to switch a new file to WAL while another process does the same (50 ms apart)
_WAL_ATTEMPTS = 100


def into_wal(conn: sqlite3.Connection) -> None:
    """Switch the file to WAL. On a new file another process may be switching it at the
    same moment, and sqlite then says "locked" at once instead of waiting: try again."""
    for attempt in range(_WAL_ATTEMPTS):
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == _WAL_ATTEMPTS - 1:
                raise
            time.sleep(0.05)
