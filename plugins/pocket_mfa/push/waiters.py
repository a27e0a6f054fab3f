"""In-process wake-ups: a waiter on a key is woken the moment something happens to it.

`notify` may be called from any thread, and each waiter is woken on its own event loop
(a test client, say, runs the app on a loop of its own while the test awaits on another).
A waiter registers before it checks the store, so a notification between the check and
the wait is never lost; a writer notifies once its writes have landed.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class Waiters:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}

    @asynccontextmanager
    async def listen(self, key: str) -> AsyncIterator[asyncio.Event]:
        """An event set by the next `notify(key)`; check the store inside, then wait."""
        entry = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
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

    def notify(self, key: str) -> None:
        with self._lock:
            entries = list(self._waiting.get(key, ()))
        for loop, event in entries:
            if loop.is_closed():
                continue
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is loop:
                event.set()
            else:
                # the loop may have closed meanwhile: nobody waits there any more
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(event.set)

    def count(self, key: str) -> int:
        with self._lock:
            return len(self._waiting.get(key, ()))


async def wait(event: asyncio.Event, timeout: float) -> bool:
    """True if the event was set within `timeout` seconds."""
    if timeout <= 0:
        return event.is_set()
    try:
        await asyncio.wait_for(event.wait(), timeout)
    except TimeoutError:
        return False
    return True
