"""The Redis cache's connections: a client per event loop, the check made at start-up,
and what a Redis that cannot be reached becomes (StoreUnavailable, within a bounded
time, never a hang).

redis-py's asyncio client keeps a pool of connections and connects again by itself. A
command on a pooled connection that broke while idle (Redis restarted) is sent once
more on a new one; a command that timed out is not, since it may have run. A client
belongs to the event loop that made it: a store used from another loop (a command's
next `asyncio.run`) makes another, and the first is closed when its loop ends.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from redis.asyncio import Redis
from redis.asyncio.connection import parse_url
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from idp.errors import StoreError, StoreUnavailable
from idp.store.base import READINESS_TIMEOUT

log = logging.getLogger("idp")

#: how long a command waits to connect, or for its answer, before StoreUnavailable. Redis
#: answers within a millisecond or so; one that has not answered in a second hangs (a host
#: that froze, a network that drops its packets), and a request that needs it is better
#: answered 503 now than after many seconds. A Redis that is down refuses at once.
TIMEOUT_SECONDS = 1.0
#: keepalives that find a Redis gone silent (the pub/sub connection only ever waits)
_KEEPALIVE = {
    getattr(socket, name): value
    for name, value in (("TCP_KEEPIDLE", 30), ("TCP_KEEPINTVL", 10), ("TCP_KEEPCNT", 3))
    if hasattr(socket, name)
}


def display(url: str) -> str:
    """The URL without its password, to show."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = f"{parts.username}@" if parts.username else ""
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return parts._replace(netloc=f"{user}{host}{port}").geturl()


@contextmanager
def translated(where: str) -> Iterator[None]:
    """redis-py's errors as the store's: StoreUnavailable when Redis cannot be reached (or
    is full and refuses writes), StoreError for a command that failed."""
    try:
        yield
    except (RedisConnectionError, RedisTimeoutError) as exc:
        raise StoreUnavailable(f"the cache {where} cannot be reached: {exc}") from exc
    except ResponseError as exc:
        if str(exc).startswith("OOM"):
            raise StoreUnavailable(f"the cache {where} is full: {exc}") from exc
        raise StoreError(f"the cache {where} failed: {exc}") from exc
    except RedisError as exc:
        raise StoreError(f"the cache {where} failed: {exc}") from exc


class RedisConnections:
    def __init__(self, url: str, *, timeout: float = TIMEOUT_SECONDS) -> None:
        """`url`: redis://host:port/db (rediss:// for TLS, unix:///path?db=N)."""
        self.url = url
        self.where = display(url)
        self.timeout = timeout
        self._client: Redis | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing: asyncio.Task[None] | None = None
        #: the database number: pub/sub channels are shared by every database of a Redis
        self.db = int(parse_url(url).get("db", 0) or 0)

    def make(self, *, retry: bool = True, **options: Any) -> Redis:
        """A client of its own, on this URL; without `retry`, a broken connection fails
        its command at once (the pub/sub listener then starts over itself)."""
        return Redis.from_url(
            self.url,
            socket_timeout=self.timeout,
            socket_connect_timeout=self.timeout,
            socket_keepalive=True,
            socket_keepalive_options=_KEEPALIVE,
            encoding_errors="surrogatepass",
            retry=Retry(NoBackoff(), 1 if retry else 0, (RedisConnectionError,)),
            **options,
        )

    def client(self) -> Redis:
        """The client of the running event loop."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            client = self.make()
            self._client, self._loop = client, loop
            self._closing = loop.create_task(
                self._close_when_cancelled(client),
                name="idp-cache-close",
                context=contextvars.Context(),
            )
        return self._client

    async def _close_when_cancelled(self, client: Redis) -> None:
        """Wait until cancelled, then close the client: a loop that ends (asyncio.run)
        cancels every task left, so the client's connections are closed on their loop."""
        try:
            await asyncio.Event().wait()
        finally:
            if self._client is client:
                self._client = self._loop = None
            await client.aclose()

    async def close(self) -> None:
        client, self._client, self._loop = self._client, None, None
        if self._closing is not None:
            self._closing.cancel()
            self._closing = None
        if client is not None:
            with translated(self.where):
                await client.aclose()

    async def readiness(self) -> dict[str, str]:
        """{"cache": why} when Redis does not answer a PING in time; else empty."""
        try:
            async with asyncio.timeout(READINESS_TIMEOUT):
                with translated(self.where):
                    await self.client().ping()
        except TimeoutError:
            return {"cache": f"the cache {self.where} did not answer in {READINESS_TIMEOUT:g} s"}
        except StoreError as exc:
            return {"cache": str(exc).splitlines()[0]}
        return {}

    async def check(self) -> None:
        """Is Redis there, and will it keep what it is given until it expires? An
        `allkeys-*` eviction policy would drop codes and counters before their time:
        refused with StoreError. A Redis whose CONFIG command is disabled is trusted."""
        client = self.client()
        with translated(self.where):
            await client.ping()
            try:
                found = await client.config_get("maxmemory-policy")
            except ResponseError as exc:
                log.info("the cache %s does not say its maxmemory-policy: %s", self.where, exc)
                return
        policy = str(found.get("maxmemory-policy", ""))
        if policy.startswith("allkeys-"):
            raise StoreError(
                f"the cache {self.where} has maxmemory-policy {policy}: when full it would"
                " evict codes, pending logins and counters before they expire. Set"
                " `maxmemory-policy noeviction` (a full Redis then refuses writes, answered"
                " 503) or a volatile-* policy in its configuration"
            )
        if policy.startswith("volatile-"):
            log.warning(
                "the cache %s has maxmemory-policy %s: when full it evicts keys that have"
                " a lifetime, which every key of the IdP has; noeviction keeps them",
                self.where,
                policy,
            )
