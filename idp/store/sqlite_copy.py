"""The sqlite store's side of moving a whole store (`idp store copy`)."""

from __future__ import annotations

import sqlite3
import time
from typing import TYPE_CHECKING

from idp.store.base import Snapshot, StoredCounter, StoredRecord
from idp.store.codec import dump_payload, load_payload

if TYPE_CHECKING:
    from idp.store.sqlite import SqliteStore

_LIVE = "(expires_at IS NULL OR expires_at >= ?)"


async def export_all(store: SqliteStore, db: sqlite3.Connection) -> Snapshot:
    now = time.time()
    records = db.execute(
        "SELECT key, payload, grant_id, expires_at, consumed, sub, created_at FROM records"
        f" WHERE {_LIVE} ORDER BY created_at, key",
        (now,),
    )
    counters = db.execute(
        "SELECT key, count, expires_at FROM counters WHERE expires_at >= ?", (now,)
    )
    return Snapshot(
        users=await store.list_users(),
        clients=await store.list_clients(),
        keys=await store.list_keys(),
        records=[_stored(row) for row in records],
        counters=[StoredCounter(*row) for row in counters],
    )


async def import_all(store: SqliteStore, db: sqlite3.Connection, snapshot: Snapshot) -> None:
    """Within a unit of work of `store`, whose writing connection `db` is."""
    for user in snapshot.users:
        await store.add_user(user)
    for client in snapshot.clients:
        await store.add_client(client)
    for key in snapshot.keys:
        await store.add_key(key)
    db.executemany(
        "INSERT INTO records (key, payload, grant_id, expires_at, consumed, sub, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (
                f"{r.model}:{r.id}",
                dump_payload(r.payload),
                r.grant_id,
                r.expires_at,
                int(r.consumed),
                r.sub,
                r.created_at,
            )
            for r in snapshot.records
        ],
    )
    db.executemany(
        "INSERT INTO counters (key, count, expires_at) VALUES (?, ?, ?)",
        [(c.key, c.count, c.expires_at) for c in snapshot.counters],
    )


def _stored(row: tuple[str, str, str | None, float | None, int, str | None, float]) -> StoredRecord:
    key, text, grant_id, expires_at, consumed, sub, created_at = row
    model, id = key.split(":", 1)
    return StoredRecord(
        model, id, load_payload(text), expires_at, grant_id, bool(consumed), sub, created_at
    )
