"""Wake-ups across processes: PostgreSQL's LISTEN/NOTIFY carries each one to the others.

`wake` sends a NOTIFY; inside a unit it goes with the unit's transaction, so that others
are woken once its writes have landed (and not at all if it rolls back). Listening, and
listening again after a lost connection, is relayed_wakeups.py's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg import AsyncConnection

from idp.errors import StoreError
from idp.store.postgres_connections import Connections
from idp.store.postgres_text import as_text, from_text
from idp.store.relayed_wakeups import Heard, RelayedWakeups

CHANNEL = "idp_wakeups"


class PostgresWakeups(RelayedWakeups):
    lost = (StoreError, psycopg.Error, OSError)

    def __init__(self, connections: Connections) -> None:
        super().__init__(
            f"the store {connections.where} cannot be reached to listen on",
            connections.timeout,
            "idp-store-wakeups",
        )
        self._connections = connections

    async def wake(self, key: str) -> None:
        await self._connections.later(
            "SELECT pg_notify(%s, %s)", (CHANNEL, f"{self.origin} {as_text(key)}")
        )
        self._connections.when_landed(lambda: self.wake_here(key))

    @asynccontextmanager
    async def listening(self) -> AsyncIterator[Heard]:
        async with await self._connections.connect() as conn:
            await conn.execute(f"LISTEN {CHANNEL}")
            yield _notes(conn)


async def _notes(conn: AsyncConnection[Any]) -> Heard:
    async for note in conn.notifies():
        origin, _, key = note.payload.partition(" ")
        yield origin, from_text(key)
