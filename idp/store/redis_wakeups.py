"""Wake-ups across processes through Redis pub/sub, when the store has a Redis cache.

`wake` publishes the key on one channel per Redis database (a channel is seen from every
database of a Redis); the store sends it once the writing unit has landed. Each process
keeps one subscribed connection of its own, opened by the first `listen` (or the
store's `start`), and hands what it hears to the waiters of this process; its own
wake-ups it hands them directly. A lost subscription is made again, and then every
waiter of this process is woken, since a wake-up may have been missed meanwhile (as
postgres_wakeups.py does for LISTEN/NOTIFY).
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

from redis.exceptions import RedisError

from idp.errors import StoreError, StoreUnavailable
from idp.store.redis_connections import RedisConnections, translated
from idp.store.wakeups import LocalWakeups

log = logging.getLogger("idp")

#: the pause before subscribing again after the connection was lost, doubling up to the last
RETRY_SECONDS = (0.1, 2.0)
#: a subscribed connection that heard nothing for this long checks the server (PING)
HEALTH_CHECK_SECONDS = 10


class RedisWakeups:
    def __init__(self, connections: RedisConnections) -> None:
        self._connections = connections
        self.channel = f"idp:wakeups:{connections.db}"
        self._here = LocalWakeups()
        #: tells this process's own messages from the others'
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
        """Wake the waiters on `key` here now, and publish it to the other processes."""
        self._here.wake_here(key)
        client = self._connections.client()
        with translated(self._connections.where):
            await client.publish(self.channel, f"{self._origin} {key}")

    async def start(self) -> None:
        """Listen from now on: returns once subscribed, or fails with StoreUnavailable
        after the connections' timeout."""
        if self._listener is None or self._listener.done():
            self._listening = asyncio.Event()  # of this event loop
            self._listener = asyncio.get_running_loop().create_task(
                self._listen(), name="idp-cache-wakeups", context=contextvars.Context()
            )
        if self._listening.is_set():
            return
        try:
            async with asyncio.timeout(self._connections.timeout):
                await self._listening.wait()
        except TimeoutError:
            raise StoreUnavailable(
                f"the cache {self._connections.where} cannot be reached to listen on"
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
            client = self._connections.make(retry=False, health_check_interval=HEALTH_CHECK_SECONDS)
            try:
                async with client.pubsub(ignore_subscribe_messages=True) as subscribed:
                    await subscribed.subscribe(self.channel)
                    self._listening.set()
                    pause = RETRY_SECONDS[0]
                    if lost:
                        log.info("wake-ups from other processes resumed")
                        lost = False
                        for key in list(self._keys):
                            self._here.wake_here(key)
                    while True:
                        message = await subscribed.get_message(timeout=HEALTH_CHECK_SECONDS)
                        if message is not None and message["type"] == "message":
                            self._heard(message["data"])
            except (RedisError, StoreError, OSError) as exc:
                if not lost:
                    log.warning("wake-ups from other processes paused: %s", exc)
                lost = True
            finally:
                self._listening.clear()
                with contextlib.suppress(RedisError, OSError):
                    await client.aclose()
            await asyncio.sleep(pause)
            pause = min(pause * 2, longest)

    def _heard(self, data: bytes) -> None:
        origin, _, key = data.decode("utf-8", "surrogatepass").partition(" ")
        if origin != self._origin:
            self._here.wake_here(key)
