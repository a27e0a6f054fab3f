"""The PostgreSQL store's upkeep: expired rows are swept now and then, so that the tables
do not grow without end (find and consume already pass over them)."""

from __future__ import annotations

import asyncio
import logging
import random
import time

from idp.errors import StoreError
from idp.store.postgres_connections import Connections

log = logging.getLogger("idp")

#: how often expired rows are swept (give or take a tenth, so that nodes started
#: together drift apart), in batches of this many rows
SWEEP_SECONDS = 30.0
_SWEEP_BATCH = 500

#: each batch is a short statement of its own; rows that a unit in flight holds are
#: skipped (SKIP LOCKED), never waited for, and neither are those another node sweeps
_SWEEP_RECORDS = (
    "DELETE FROM records WHERE (model, id) IN (SELECT model, id FROM records"
    " WHERE expires_at < %s LIMIT %s FOR UPDATE SKIP LOCKED)"
)
_SWEEP_COUNTERS = (
    "DELETE FROM counters WHERE key IN (SELECT key FROM counters"
    " WHERE expires_at < %s LIMIT %s FOR UPDATE SKIP LOCKED)"
)


async def sweep(connections: Connections) -> int:
    """Delete the rows expired by now, batch after batch; how many there were. The
    deletes go on a connection of their own, so that no request's statements wait for
    them in a shared round trip."""
    now = time.time()
    removed = 0
    async with connections.connection() as conn:
        for statement in (_SWEEP_RECORDS, _SWEEP_COUNTERS):
            while True:
                count = (await conn.execute(statement, (now, _SWEEP_BATCH))).rowcount
                removed += count
                if count < _SWEEP_BATCH:
                    break
    return removed


async def keep_sweeping(connections: Connections, every: float = SWEEP_SECONDS) -> None:
    """Sweep every `every` seconds until cancelled; a store that cannot be reached is
    tried again the next time."""
    while True:
        await asyncio.sleep(every * random.uniform(0.9, 1.1))
        try:
            await sweep(connections)
        except StoreError as exc:
            log.warning("the sweep of expired rows failed: %s", exc)
