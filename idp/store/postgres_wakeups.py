"""Wake-ups across processes: PostgreSQL's LISTEN/NOTIFY carries each one to the others.

`wake` sends a NOTIFY; inside a unit it goes with the unit's transaction, so that others
are woken once its writes have landed (and not at all if it rolls back). Each process
keeps one connection of its own that listens, opened by the first `listen` (or the
store's `start`), and hands what it hears to the waiters of this process; its own
wake-ups it hands them directly. A lost listening connection is opened again, and then
every waiter of this process is woken, since a wake-up may have been missed meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import secrets
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg

from idp.errors import StoreError, StoreUnavailable
from idp.store.postgres_connections import Connections, as_text, from_text
from idp.store.wakeups import LocalWakeups

log = logging.getLogger("idp")

CHANNEL = "idp_wakeups"
#: the pause before listening again after the connection was lost, doubling up to the last
RETRY_SECONDS = (0.1, 2.0)


class PostgresWakeups:
    def __init__(self, connections: Connections) -> None:
        self._connections = connections
        self._here = LocalWakeups()
        #: tells this process's own notifications from the others'
        self._origin = secrets.token_hex(8)
        self._keys: Counter[str] = Counter()
        self._listening = asyncio.Event()
        self._listener: asyncio.Task[None] | None = None

    @asynccontextmanager
    async def listen(self, key: str) -> AsyncIterator[asyncio.Event]:
        await self.start()
        self._keys[key] += 1
        try:
            async with self._here.listen(key) as event:
                yield event
        finally:
            self._keys[key] -= 1
            if not self._keys[key]:
                del self._keys[key]

    async def wake(self, key: str) -> None:
        await self._connections.later(
            "SELECT pg_notify(%s, %s)", (CHANNEL, f"{self._origin} {as_text(key)}")
        )
        self._connections.when_landed(lambda: self._here.wake_here(key))

    async def start(self) -> None:
        """Listen from now on: returns once the listening connection listens, or fails
        with StoreUnavailable after the store's timeout."""
        if self._listener is None or self._listener.done():
            self._listening = asyncio.Event()  # of this event loop
            self._listener = asyncio.get_running_loop().create_task(
                self._listen(), name="idp-store-wakeups", context=contextvars.Context()
            )
        if self._listening.is_set():
            return
        try:
            async with asyncio.timeout(self._connections.timeout):
                await self._listening.wait()
        except TimeoutError:
            raise StoreUnavailable(
                f"the store {self._connections.where} cannot be reached to listen on"
            ) from None

    async def close(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener

    async def _listen(self) -> None:
        pause, longest = RETRY_SECONDS
        lost = False
        while True:
            try:
                async with await self._connections.connect() as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self._listening.set()
                    pause = RETRY_SECONDS[0]
                    if lost:
                        log.info("wake-ups from other processes resumed")
                        lost = False
                        for key in list(self._keys):
                            self._here.wake_here(key)
                    async for note in conn.notifies():
                        origin, _, key = note.payload.partition(" ")
                        if origin != self._origin:
                            self._here.wake_here(from_text(key))
            except (StoreError, psycopg.Error, OSError) as exc:
                if not lost:
                    log.warning("wake-ups from other processes paused: %s", exc)
                lost = True
            finally:
                self._listening.clear()
            await asyncio.sleep(pause)
            pause = min(pause * 2, longest)
