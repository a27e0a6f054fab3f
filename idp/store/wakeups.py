"""Wake-ups: a task waiting for something to happen to a key is woken when it does.

A wake-up is only a hint. The woken task reads the state from the store again, so a
wake-up that is lost costs no more than the wait's own timeout. A waiter starts
listening before it checks the store, so a wake-up between the check and the wait is
never missed; a writer wakes others once its writes have landed.

Within one process the waiters are woken directly, on whichever event loop each waits
(a test client runs the app on a loop of its own). A store that several processes share
also carries each wake-up to the others (PostgreSQL: LISTEN/NOTIFY), which hand it to
`wake_here`.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol


class Wakeups(Protocol):
    def listen(self, key: str) -> AbstractAsyncContextManager[asyncio.Event]:
        """An event set by the next `wake(key)` in any process; check the store inside
        the block, then wait for the event."""
        ...

    async def wake(self, key: str) -> None:
        """Wake every task listening on `key`."""
        ...

    def stop_waiting(self) -> None:
        """The process is stopping: wake every task that waits here, and let whoever
        listens from now on find its event set at once (see LocalWakeups)."""
        ...


class LocalWakeups:
    """The waiters of this process; on its own, the wake-ups of a one-process store."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}
        self._stopping = False

    @asynccontextmanager
    async def listen(self, key: str) -> AsyncIterator[asyncio.Event]:
        entry = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            if self._stopping:
                entry[1].set()
            self._waiting.setdefault(key, set()).add(entry)
        try:
            yield entry[1]
        finally:
            with self._lock:
                waiting = self._waiting.get(key)
                if waiting is not None:
                    waiting.discard(entry)
                    if not waiting:
                        del self._waiting[key]

    async def wake(self, key: str) -> None:
        self.wake_here(key)

    def wake_here(self, key: str) -> None:
        """Wake the waiters on `key` in this process; from any thread."""
        with self._lock:
            entries = list(self._waiting.get(key, ()))
        self._set(entries)

    def stop_waiting(self) -> None:
        """Wake every waiter, and set the event of every later one at once: a process
        that is stopping answers its long polls now (each reads the state and answers as
        it stands, and the page asks again, of another process), instead of holding the
        stop until their timeouts."""
        with self._lock:
            self._stopping = True
            entries = [entry for waiting in self._waiting.values() for entry in waiting]
        self._set(entries)

    @staticmethod
    def _set(entries: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]]) -> None:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        for loop, event in entries:
            if loop.is_closed():
                continue
            if running is loop:
                event.set()
            else:
                # the loop may have closed meanwhile: nobody waits there any more
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(event.set)

    def count(self, key: str) -> int:
        """How many wait on `key` in this process."""
        with self._lock:
            return len(self._waiting.get(key, ()))


class NamespacedWakeups:
    """A plugin's wake-ups: its keys kept apart from everyone else's."""

    def __init__(self, wakeups: Wakeups, prefix: str) -> None:
        self._wakeups = wakeups
        self._prefix = prefix

    def listen(self, key: str) -> AbstractAsyncContextManager[asyncio.Event]:
        return self._wakeups.listen(self._prefix + key)

    async def wake(self, key: str) -> None:
        await self._wakeups.wake(self._prefix + key)

    def stop_waiting(self) -> None:
        self._wakeups.stop_waiting()


async def wait(event: asyncio.Event, timeout: float) -> bool:
    """True if the event was set within `timeout` seconds."""
    if timeout <= 0:
        return event.is_set()
    try:
        await asyncio.wait_for(event.wait(), timeout)
    except TimeoutError:
        return False
    return True
