"""A plugin's own records: a view of the store under a namespace."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager

from idp.store.base import JSON, RecordView
from idp.store.wakeups import NamespacedWakeups


class NamespacedRecords:
    """RecordView whose model names and counter keys are those of `namespace`: the plugin
    "pocket" keeps model "device" as "pocket-device", and cannot reach anyone else's."""

    def __init__(self, records: RecordView, namespace: str) -> None:
        if not namespace.isidentifier():
            raise ValueError(f"a namespace is a plain name, not {namespace!r}")
        self._records = records
        self._prefix = namespace + "-"
        self.wakeups = NamespacedWakeups(records.wakeups, self._prefix)

    def _model(self, model: str) -> str:
        return self._prefix + model

    async def upsert(
        self,
        model: str,
        id: str,
        payload: JSON,
        expires_in: int | None = None,
        grant_id: str | None = None,
        sub: str | None = None,
    ) -> None:
        await self._records.upsert(self._model(model), id, payload, expires_in, grant_id, sub)

    async def find(self, model: str, id: str) -> JSON | None:
        return await self._records.find(self._model(model), id)

    async def consume(self, model: str, id: str) -> JSON | None:
        return await self._records.consume(self._model(model), id)

    async def use_up(self, model: str, id: str) -> None:
        await self._records.use_up(self._model(model), id)

    async def destroy(self, model: str, id: str) -> None:
        await self._records.destroy(self._model(model), id)

    async def find_by_sub(self, model: str, sub: str) -> list[tuple[str, JSON]]:
        return await self._records.find_by_sub(self._model(model), sub)

    async def find_since(self, model: str, since: float) -> list[tuple[str, JSON]]:
        return await self._records.find_since(self._model(model), since)

    async def hit(self, key: str, window: int) -> int:
        return await self._records.hit(self._prefix + key, window)

    async def release(self, key: str) -> None:
        await self._records.release(self._prefix + key)

    async def count(self, key: str) -> int:
        return await self._records.count(self._prefix + key)

    async def clear(self, key: str) -> None:
        await self._records.clear(self._prefix + key)

    def unit(self) -> AbstractAsyncContextManager[None]:
        return self._records.unit()
