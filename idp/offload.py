"""Running CPU work off the event loop, in two pools of worker threads.

`run_sync` is for short work that would still hold up other requests (signing, about
a quarter of a millisecond for RS256); `run_slow` is for password hashing, which takes
a large fraction of a second and much memory, so at most one hash per core runs at
once and the rest wait their turn without starving the short work.
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

_SHORT = ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="idp-short")
_SLOW = ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="idp-slow")


async def run_sync(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Call `fn` in a worker thread and await its result."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_SHORT, functools.partial(fn, *args, **kwargs))


async def run_slow(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Like `run_sync`, for long work such as password hashing."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_SLOW, functools.partial(fn, *args, **kwargs))
