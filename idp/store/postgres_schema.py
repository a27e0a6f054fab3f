"""The PostgreSQL database's schema, in numbered steps; the table `idp_schema` says which
it has.

A new, empty database gets every step at once, the first time a store uses it. A
database made by an older version is upgraded only by `idp db upgrade`: a server or
command that opens it refuses with a message naming that command, so that an upgrade is
never a side effect of starting something. Both hold an advisory lock while they look
and write, so that servers starting at once on an empty database create it once.
"""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from idp.errors import SchemaOutdated

#: the text columns that are ordered or compared as keys sort by their bytes ("C"), as the
#: sqlite file does, whatever the database's locale
_CREATE_V1 = """
CREATE TABLE users (
    sub text PRIMARY KEY,
    username text COLLATE "C" NOT NULL UNIQUE,
    data text NOT NULL
);
CREATE TABLE clients (
    client_id text COLLATE "C" PRIMARY KEY,
    data text NOT NULL
);
CREATE TABLE signing_keys (
    kid text PRIMARY KEY,
    data text NOT NULL
);
CREATE TABLE records (
    model text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    payload text NOT NULL,
    grant_id text,
    expires_at double precision,
    consumed boolean NOT NULL DEFAULT false,
    sub text,
    created_at double precision NOT NULL,
    PRIMARY KEY (model, id)
);
CREATE INDEX records_grant ON records (grant_id) WHERE grant_id IS NOT NULL;
CREATE INDEX records_sub ON records (model, sub, created_at) WHERE sub IS NOT NULL;
CREATE INDEX records_created ON records (model, created_at);
CREATE INDEX records_expiry ON records (expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE counters (
    key text PRIMARY KEY,
    count integer NOT NULL,
    expires_at double precision NOT NULL
);
CREATE INDEX counters_expiry ON counters (expires_at);
"""

#: the SQLSTATE with which idp_use_up refuses a record used already (a class of its own)
ALREADY_USED = "IDPU1"

#: RecordView.use_up as one statement that needs no answer: it fails the transaction
#: that it is part of when the record is gone or was used already
_USE_UP_V2 = f"""
CREATE FUNCTION idp_use_up(the_model text, the_id text, now double precision)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE records SET consumed = true
    WHERE model = the_model AND id = the_id AND NOT consumed
        AND (expires_at IS NULL OR expires_at >= now);
    IF NOT FOUND THEN
        -- the message names the model, the detail the id (AlreadyUsed)
        RAISE EXCEPTION USING ERRCODE = '{ALREADY_USED}', MESSAGE = the_model,
            DETAIL = the_id;
    END IF;
END
$$
"""

#: each step takes the schema from the version before it to its own number (1-based);
#: a step is a script of plain statements, or a tuple of statements (a function's body
#: holds semicolons of its own)
MIGRATIONS: tuple[str | tuple[str, ...], ...] = (_CREATE_V1, (_USE_UP_V2,))

#: the advisory lock that creating and upgrading the schema hold (any number, the same
#: in every version)
_LOCK = 0x1D9_5C4E


def latest() -> int:
    """The version this code works with."""
    return len(MIGRATIONS)


async def version(conn: AsyncConnection[Any]) -> int | None:
    """The database's schema version; None when it has none (a new database)."""
    cur = await conn.execute("SELECT to_regclass('idp_schema') IS NOT NULL")
    row = await cur.fetchone()
    if not row or not row[0]:
        return None
    cur = await conn.execute("SELECT version FROM idp_schema")
    row = await cur.fetchone()
    return int(row[0]) if row else 0


async def prepare(conn: AsyncConnection[Any], where: str) -> None:
    """Create the schema in a new database; refuse one whose schema is older or newer.
    `conn` is in autocommit mode."""
    found = await version(conn)
    if found is None:
        await upgrade(conn)  # a new database (or one another process is making right now)
        return
    _refuse_other(found, where)


async def check(conn: AsyncConnection[Any], where: str) -> None:
    """Refuse a database without the schema, or with an older or newer one
    (SchemaOutdated); change nothing."""
    found = await version(conn)
    if found is None:
        raise SchemaOutdated(f"the store {where} has no tables: run `idp db init`")
    _refuse_other(found, where)


def _refuse_other(found: int, where: str) -> None:
    if found < latest():
        raise SchemaOutdated(
            f"the store {where} has schema version {found}, this version of the IdP needs"
            f" {latest()}: run `idp db upgrade` (back the database up first)"
        )
    if found > latest():
        raise SchemaOutdated(
            f"the store {where} has schema version {found}, newer than this version of the"
            f" IdP knows ({latest()}): run the newer version"
        )


async def upgrade(conn: AsyncConnection[Any]) -> tuple[int, int]:
    """Apply the missing steps in one transaction; the versions before and after. The
    version is read once the lock is held, so two processes that create a new database
    at the same moment take turns and the second finds the schema made. (The lock is
    taken before the transaction begins: a transaction that began before the other one
    committed might not see the tables it made.) `conn` is in autocommit mode."""
    await conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK,))
    try:
        async with conn.transaction():
            found = await version(conn)
            if found is None:
                await conn.execute("CREATE TABLE idp_schema (version integer NOT NULL)")
                await conn.execute("INSERT INTO idp_schema (version) VALUES (0)")
                found = 0
            for number, step in enumerate(MIGRATIONS[found:], start=found + 1):
                for statement in _statements(step):
                    await conn.execute(statement)
                await conn.execute("UPDATE idp_schema SET version = %s", (number,))
    finally:
        if not conn.broken:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK,))
    return found, latest()


def _statements(step: str | tuple[str, ...]) -> list[str]:
    if isinstance(step, tuple):
        return [statement.strip() for statement in step]
    return [s.strip() for s in step.split(";") if s.strip()]
