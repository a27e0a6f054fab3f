"""Where authlib's synchronous grants meet the asynchronous store.

authlib calls its hooks (find the client, find the code, save the token) as plain
functions. The adapter runs the whole authlib call in a greenlet on the event loop
(`run_bridged`); a hook that needs the store, or a signature from a worker thread, hands
the awaitable to `wait_for`, which switches back to the coroutine that started the
greenlet, lets it await, and resumes the hook with the result. No thread hop is added:
on the embedded store the awaited calls finish in place, and a networked store's round
trips are awaited like any other. SQLAlchemy's asyncio extension bridges its
synchronous ORM the same way.
"""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

from greenlet import getcurrent, greenlet

P = ParamSpec("P")
T = TypeVar("T")


class _Bridged(greenlet):
    """A greenlet whose code may wait for awaitables (`wait_for`)."""


async def run_bridged(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run synchronous `fn` on the event loop; it may call `wait_for` along the way."""
    child = _Bridged(fn, parent=getcurrent())
    # the greenlet sees the context of the task that runs it (the unit of work, say)
    child.gr_context = contextvars.copy_context()
    handed: Any = child.switch(*args, **kwargs)
    while not child.dead:
        try:
            value = await handed
        except BaseException as exc:  # handed back to the waiting code, as await would
            handed = child.throw(exc)
        else:
            handed = child.switch(value)
    result: T = handed
    return result


def wait_for(awaitable: Awaitable[T]) -> T:
    """Await from synchronous code that `run_bridged` runs; its result, or its error."""
    current = getcurrent()
    if not isinstance(current, _Bridged):
        raise RuntimeError("wait_for outside run_bridged")
    parent = current.parent
    if parent is None:
        raise RuntimeError("wait_for outside run_bridged")
    result: T = parent.switch(awaitable)
    return result
