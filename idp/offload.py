"""Running CPU work off the event loop, in two sets of worker threads.

`run_sync` is for short work that would still hold up other requests (signing, about
a quarter of a millisecond for RS256); `run_slow` is for password hashing, which takes
a large fraction of a second and much memory, so at most one hash per core runs at
once and the rest wait their turn without starving the short work.

The hand-off is kept small, since it is paid on every token that is signed: a call goes
into a queue that the threads share, and its result comes back to the loop through
`call_soon_threadsafe`, without the concurrent.futures layer of `run_in_executor`.

The threads run as batch work for the Linux scheduler (SCHED_BATCH): one woken for a
call no longer takes the core from the event loop at once, only to wait for the GIL the
loop still holds. With the server on one core, that took the involuntary context
switches of a signed token from about three per request to almost none.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import queue
import threading
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

_Job = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", Callable[[], Any]]


def _deliver(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class Workers:
    """A fixed number of daemon threads, started on first use, taking calls in order."""

    def __init__(self, count: int, name: str) -> None:
        self.count = count
        self.name = name
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def submit(self, fn: Callable[[], T]) -> asyncio.Future[T]:
        """Queue a call at once; its result arrives in the returned future."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        if len(self._threads) < self.count:
            self._start()
        self._jobs.put((loop, future, fn))
        return future

    async def run(self, fn: Callable[[], T]) -> T:
        return await self.submit(fn)

    def _start(self) -> None:
        with self._lock:
            while len(self._threads) < self.count:
                thread = threading.Thread(
                    target=self._work, name=f"{self.name}-{len(self._threads)}", daemon=True
                )
                thread.start()
                self._threads.append(thread)

    def _work(self) -> None:
        with contextlib.suppress(AttributeError, OSError):  # Linux only
            os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
        while True:
            loop, future, fn = self._jobs.get()
            result, error = None, None
            try:
                result = fn()
            except BaseException as exc:  # handed to the awaiting task
                error = exc
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting
                loop.call_soon_threadsafe(_deliver, future, result, error)
            del loop, future, fn, result, error


_SHORT = Workers(os.cpu_count() or 2, "idp-short")
_SLOW = Workers(os.cpu_count() or 2, "idp-slow")


async def run_sync(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Call `fn` in a worker thread and await its result."""
    return await _SHORT.run(functools.partial(fn, *args, **kwargs))


async def run_slow(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Like `run_sync`, for long work such as password hashing."""
    return await _SLOW.run(functools.partial(fn, *args, **kwargs))
