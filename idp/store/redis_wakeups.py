"""Wake-ups across processes through Redis pub/sub, when the store has a Redis cache.

`wake` publishes the key on one channel per Redis database (a channel is seen from every
database of a Redis); the store sends it once the writing unit has landed. Subscribing,
and subscribing again after a lost connection, is relayed_wakeups.py's.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from redis.exceptions import RedisError

from idp.errors import StoreError
from idp.store.redis_connections import RedisConnections, translated
from idp.store.relayed_wakeups import Heard, RelayedWakeups

#: a subscribed connection that heard nothing for this long checks the server (PING)
HEALTH_CHECK_SECONDS = 10


class RedisWakeups(RelayedWakeups):
    lost = (RedisError, StoreError, OSError)

    def __init__(self, connections: RedisConnections) -> None:
        super().__init__(
            f"the cache {connections.where} cannot be reached to listen on",
            connections.timeout,
            "idp-cache-wakeups",
        )
        self._connections = connections
        self.channel = f"idp:wakeups:{connections.db}"

    async def wake(self, key: str) -> None:
        """Wake the waiters on `key` here now, and publish it to the other processes."""
        self.wake_here(key)
        client = self._connections.client()
        with translated(self._connections.where):
            await client.publish(self.channel, f"{self.origin} {key}")

    @asynccontextmanager
    async def listening(self) -> AsyncIterator[Heard]:
        client = self._connections.make(retry=False, health_check_interval=HEALTH_CHECK_SECONDS)
        try:
            async with client.pubsub(ignore_subscribe_messages=True) as subscribed:
                await subscribed.subscribe(self.channel)
                yield _messages(subscribed)
        finally:
            with contextlib.suppress(RedisError, OSError):
                await client.aclose()


async def _messages(subscribed: Any) -> Heard:
    while True:
        message = await subscribed.get_message(timeout=HEALTH_CHECK_SECONDS)
        if message is not None and message["type"] == "message":
            origin, _, key = message["data"].decode("utf-8", "surrogatepass").partition(" ")
            yield origin, key
