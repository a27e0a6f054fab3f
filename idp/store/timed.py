"""The time of every store operation, for `/metrics` (idp.metrics): one wrapper at the
store's public boundary, around whichever backend the provider opened, so that no
backend measures itself.

Each awaited call is timed with `time.perf_counter` and counted by its kind (`read`,
`write`, `counter`, `unit`) and backend (`sqlite`, `postgresql`, `redis`). A unit of
work counts the store's own part: its start and its landing, not the caller's work
between them. With a Redis cache (idp.store.cached), counters and short-lived records
are Redis's and the rest PostgreSQL's; a unit counts as PostgreSQL's, where it commits.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Any, cast

from idp.metrics import Metrics
from idp.store.base import RecordView, Store
from idp.store.namespaced import NamespacedRecords
from idp.store.short_lived import is_short_lived

READ, WRITE, COUNTER, UNIT = "read", "write", "counter", "unit"

#: the Store methods timed, by kind; the first argument of those marked True is a model
_KINDS: dict[str, tuple[str, bool]] = {
    "find": (READ, True),
    "find_by_sub": (READ, True),
    "find_since": (READ, True),
    "get_user": (READ, False),
    "find_user": (READ, False),
    "list_users": (READ, False),
    "page_users": (READ, False),
    "get_client": (READ, False),
    "list_clients": (READ, False),
    "list_keys": (READ, False),
    "upsert": (WRITE, True),
    "consume": (WRITE, True),
    "use_up": (WRITE, True),
    "destroy": (WRITE, True),
    "revoke_by_grant_id": (WRITE, False),
    "add_user": (WRITE, False),
    "update_user": (WRITE, False),
    "remove_user": (WRITE, False),
    "add_client": (WRITE, False),
    "update_client": (WRITE, False),
    "remove_client": (WRITE, False),
    "add_key": (WRITE, False),
    "update_key": (WRITE, False),
    "hit": (COUNTER, False),
    "release": (COUNTER, False),
    "count": (COUNTER, False),
    "clear": (COUNTER, False),
}


def backend_of(store: Store) -> str:
    """The backend's name as the metric labels it: sqlite, postgresql, or "cached" for
    PostgreSQL with a Redis cache (whose operations are labelled postgresql or redis)."""
    name = type(store).__name__
    if name == "CachedStore":
        return "cached"
    if name == "PostgresStore":
        return "postgresql"
    return "sqlite"


class _TimedUnit:
    """A unit of work whose start and landing are timed, not what runs inside it."""

    def __init__(
        self, unit: AbstractAsyncContextManager[None], observe: Callable[[float], None]
    ) -> None:
        self._unit = unit
        self._observe = observe
        self._spent = 0.0

    async def __aenter__(self) -> None:
        began = time.perf_counter()
        try:
            await self._unit.__aenter__()
        finally:
            self._spent = time.perf_counter() - began

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        began = time.perf_counter()
        try:
            return await self._unit.__aexit__(kind, exc, tb)
        finally:
            self._observe(self._spent + time.perf_counter() - began)


class TimedStore:
    """`store`, with the time of each operation observed in `metrics`. Anything that is
    not a Store method (a backend's own, as tests use) is the wrapped store's."""

    def __init__(self, store: Store, metrics: Metrics) -> None:
        self.wrapped = store
        self.wakeups = store.wakeups
        backend = backend_of(store)
        self._observers: dict[tuple[str, str], Callable[[float], None]] = {}
        for name, (kind, by_model) in _KINDS.items():
            method = getattr(store, name)
            if backend != "cached":
                timed = self._timed(method, self._observer(metrics, kind, backend))
            elif kind == COUNTER:
                timed = self._timed(method, self._observer(metrics, kind, "redis"))
            elif by_model:
                timed = self._timed_by_model(
                    method,
                    self._observer(metrics, kind, "redis"),
                    self._observer(metrics, kind, "postgresql"),
                )
            else:
                timed = self._timed(method, self._observer(metrics, kind, "postgresql"))
            setattr(self, name, timed)
        unit_backend = "postgresql" if backend == "cached" else backend
        self._observe_unit = self._observer(metrics, UNIT, unit_backend)

    def _observer(self, metrics: Metrics, kind: str, backend: str) -> Callable[[float], None]:
        key = (kind, backend)
        if key not in self._observers:
            self._observers[key] = metrics.store_seconds.labels(kind, backend).observe
        return self._observers[key]

    @staticmethod
    def _timed(
        method: Callable[..., Awaitable[Any]], observe: Callable[[float], None]
    ) -> Callable[..., Awaitable[Any]]:
        async def timed(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return await method(*args, **kwargs)
            finally:
                observe(time.perf_counter() - began)

        return timed

    @staticmethod
    def _timed_by_model(
        method: Callable[..., Awaitable[Any]],
        short_lived: Callable[[float], None],
        durable: Callable[[float], None],
    ) -> Callable[..., Awaitable[Any]]:
        async def timed(model: str, *args: Any, **kwargs: Any) -> Any:
            observe = short_lived if is_short_lived(model) else durable
            began = time.perf_counter()
            try:
                return await method(model, *args, **kwargs)
            finally:
                observe(time.perf_counter() - began)

        return timed

    def unit(self) -> AbstractAsyncContextManager[None]:
        return _TimedUnit(self.wrapped.unit(), self._observe_unit)

    def records(self, namespace: str) -> RecordView:
        return NamespacedRecords(cast(RecordView, self), namespace)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.wrapped, name)


def timed(store: Store, metrics: Metrics) -> Store:
    """`store` with its operations timed (TimedStore), as a Store."""
    return cast(Store, TimedStore(store, metrics))
