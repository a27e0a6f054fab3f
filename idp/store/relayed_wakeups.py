"""Wake-ups across processes, relayed by the server the processes share.

Each process keeps one connection of its own that listens to the relay, opened by the
first `listen` (or the store's `start`), and hands what it hears to the waiters of this
process; its own wake-ups it hands them directly. A lost listening connection is opened
again, and then every waiter of this process is woken, since a wake-up may have been
missed meanwhile. What differs per relay (PostgreSQL's LISTEN/NOTIFY, Redis pub/sub) is
how a wake-up is sent and how the listening connection hears them.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import secrets
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from idp.errors import StoreError, StoreUnavailable
from idp.store.wakeups import LocalWakeups

log = logging.getLogger("idp")

#: the pause before listening again after the connection was lost, doubling up to the last
RETRY_SECONDS = (0.1, 2.0)

#: what the listening connection hears: (origin, key) of each wake-up
Heard = AsyncIterator[tuple[str, str]]


class RelayedWakeups(ABC):
    #: the failures of the listening connection that pause listening (and are tried again)
    lost: tuple[type[BaseException], ...] = (StoreError, OSError)

    def __init__(self, unreachable: str, timeout: float, task_name: str) -> None:
        #: the StoreUnavailable message when listening cannot begin within `timeout`
        self._unreachable = unreachable
        self._timeout = timeout
        self._task_name = task_name
        self._here = LocalWakeups()
        #: tells this process's own wake-ups from the others'
        self.origin = secrets.token_hex(8)
        self._keys: Counter[str] = Counter()
        self._listening = asyncio.Event()
        self._listener: asyncio.Task[None] | None = None

    @abstractmethod
    async def wake(self, key: str) -> None:
        """Wake every task listening on `key`, here and in the other processes."""

    @abstractmethod
    def listening(self) -> AbstractAsyncContextManager[Heard]:
        """A listening connection, open for as long as the context lasts."""

    def wake_here(self, key: str) -> None:
        """Wake the waiters on `key` in this process alone."""
        self._here.wake_here(key)

    def stop_waiting(self) -> None:
        self._here.stop_waiting()

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

    async def start(self) -> None:
        """Listen from now on: returns once the listening connection listens, or fails
        with StoreUnavailable after the timeout."""
        if self._listener is None or self._listener.done():
            self._listening = asyncio.Event()  # of this event loop
            self._listener = asyncio.get_running_loop().create_task(
                self._listen(), name=self._task_name, context=contextvars.Context()
            )
        if self._listening.is_set():
            return
        try:
            async with asyncio.timeout(self._timeout):
                await self._listening.wait()
        except TimeoutError:
            raise StoreUnavailable(self._unreachable) from None

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
                async with self.listening() as heard:
                    self._listening.set()
                    pause = RETRY_SECONDS[0]
                    if lost:
                        log.info("wake-ups from other processes resumed")
                        lost = False
                        for key in list(self._keys):
                            self._here.wake_here(key)
                    async for origin, key in heard:
                        if origin != self.origin:
                            self._here.wake_here(key)
            except self.lost as exc:
                if not lost:
                    log.warning("wake-ups from other processes paused: %s", exc)
                lost = True
            finally:
                self._listening.clear()
            await asyncio.sleep(pause)
            pause = min(pause * 2, longest)
