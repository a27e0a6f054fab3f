"""A PostgreSQL store with a Redis cache (`[store] cache`): short-lived records
(short_lived.py) and every counter in Redis, the rest in PostgreSQL, behind the one
Store interface; wake-ups through Redis pub/sub.

Units of work. Redis cannot roll back with PostgreSQL, so a unit that writes to both
lands in two steps, in this order:

1. its PostgreSQL writes commit (one transaction, as in the PostgreSQL store);
2. then its Redis record writes (upserts and destroys, held back until now, read back by
   the unit itself meanwhile) land together in one MULTI/EXEC;
3. then its wake-ups are sent.

A unit that fails before step 1 ends leaves nothing in either. If Redis fails at step 2,
the PostgreSQL part has landed and the unit raises StoreUnavailable. Some Redis writes
cannot wait for the end of the unit, since their answer decides what the unit does:
`consume` and `use_up` (the single-use guard: a code used up by a unit that then fails
stays used, so a retry is told it was used, never issued twice), `revoke_by_grant_id`
(a revocation is never undone), and the counters (`hit`, `release`, `clear`: a failed
unit's attempt still counts). Records kept in Redis do not take turns: of two units that
write one, the last to land wins. Counters do: a unit's first write to a counter holds
that counter's turn (in Redis, for every process) until the unit has landed, so that
another unit's write to it waits, and then sees what the first one wrote (Store.unit).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from idp.errors import AlreadyUsed, StoreError
from idp.store.base import (
    JSON,
    Client,
    RecordView,
    SigningKey,
    Snapshot,
    Store,
    StoredRecord,
    User,
)
from idp.store.namespaced import NamespacedRecords
from idp.store.redis_cache import RecordWrite, RedisCache
from idp.store.redis_connections import RedisConnections
from idp.store.redis_wakeups import RedisWakeups
from idp.store.short_lived import is_short_lived

log = logging.getLogger("idp")


@dataclass(eq=False)
class _Unit:
    owner: CachedStore
    #: Redis record writes held back until the PostgreSQL part has landed
    writes: dict[tuple[str, str], RecordWrite] = field(default_factory=dict)
    wakes: list[str] = field(default_factory=list)
    #: counter key -> the token of the turn this unit holds
    turns: dict[str, str] = field(default_factory=dict)
    taking: asyncio.Lock = field(default_factory=asyncio.Lock)


_UNIT: ContextVar[_Unit | None] = ContextVar("idp_cached_unit", default=None)


class UnitWakeups:
    """The store's wake-ups: sent at once outside a unit, once it has landed inside one."""

    def __init__(self, store: CachedStore, wakeups: RedisWakeups) -> None:
        self._store = store
        self.redis = wakeups

    def listen(self, key: str) -> AbstractAsyncContextManager[asyncio.Event]:
        return self.redis.listen(key)

    async def wake(self, key: str) -> None:
        unit = self._store.current_unit()
        if unit is None:
            await self.redis.wake(key)
        else:
            unit.wakes.append(key)

    def stop_waiting(self) -> None:
        self.redis.stop_waiting()


class CachedStore:
    def __init__(self, durable: Store, cache: RedisCache, wakeups: RedisWakeups) -> None:
        self.durable = durable
        self.cache = cache
        self.wakeups = UnitWakeups(self, wakeups)

    # --- life
    async def start(self) -> None:
        """Check Redis (reachable; an eviction policy that keeps keys until they expire),
        listen for wake-ups, and start the PostgreSQL store."""
        await self.cache.connections.check()
        await self.wakeups.redis.start()
        await self.durable.start()

    async def close(self) -> None:
        await self.wakeups.redis.close()
        try:
            await self.cache.connections.close()
        finally:
            await self.durable.close()

    async def readiness(self) -> dict[str, str]:
        """PostgreSQL's and Redis's, asked at the same time."""
        durable, cache = await asyncio.gather(
            self.durable.readiness(), self.cache.connections.readiness()
        )
        return {**durable, **cache}

    def records(self, namespace: str) -> RecordView:
        return NamespacedRecords(self, namespace)

    # --- units
    def current_unit(self) -> _Unit | None:
        unit = _UNIT.get()
        return unit if unit is not None and unit.owner is self else None

    @asynccontextmanager
    async def _unit(self) -> AsyncIterator[None]:
        if self.current_unit() is not None:
            yield  # joins the unit already open in this task
            return
        unit = _Unit(self)
        token = _UNIT.set(unit)
        try:
            async with self.durable.unit():
                yield
            await self.cache.apply(list(unit.writes.values()))
            for key in unit.wakes:
                try:
                    await self.wakeups.redis.wake(key)
                except StoreError as exc:  # a lost wake-up costs a waiter one long-poll
                    log.warning("a wake-up was not sent: %s", exc)
        finally:
            _UNIT.reset(token)
            for key, held in unit.turns.items():
                try:
                    await self.cache.give_turn(key, held)
                except StoreError as exc:  # it runs out by itself
                    log.warning("the turn of counter %r was not given back: %s", key, exc)

    def unit(self) -> AbstractAsyncContextManager[None]:
        return self._unit()

    # --- users, clients, keys: PostgreSQL
    async def add_user(self, user: User) -> None:
        await self.durable.add_user(user)

    async def update_user(self, user: User) -> None:
        await self.durable.update_user(user)

    async def get_user(self, sub: str) -> User | None:
        return await self.durable.get_user(sub)

    async def find_user(self, username: str) -> User | None:
        return await self.durable.find_user(username)

    async def list_users(self) -> list[User]:
        return await self.durable.list_users()

    async def page_users(self, after: str, limit: int, search: str = "") -> list[User]:
        return await self.durable.page_users(after, limit, search)

    async def remove_user(self, sub: str) -> bool:
        return await self.durable.remove_user(sub)

    async def add_client(self, client: Client) -> None:
        await self.durable.add_client(client)

    async def get_client(self, client_id: str) -> Client | None:
        return await self.durable.get_client(client_id)

    async def update_client(self, client: Client) -> bool:
        return await self.durable.update_client(client)

    async def list_clients(self) -> list[Client]:
        return await self.durable.list_clients()

    async def remove_client(self, client_id: str) -> bool:
        return await self.durable.remove_client(client_id)

    async def add_key(self, key: SigningKey) -> None:
        await self.durable.add_key(key)

    async def update_key(self, key: SigningKey) -> None:
        await self.durable.update_key(key)

    async def list_keys(self) -> list[SigningKey]:
        return await self.durable.list_keys()

    # --- records: by model
    async def upsert(
        self,
        model: str,
        id: str,
        payload: JSON,
        expires_in: int | None = None,
        grant_id: str | None = None,
        sub: str | None = None,
    ) -> None:
        if not is_short_lived(model):
            await self.durable.upsert(model, id, payload, expires_in, grant_id, sub)
            return
        write = RecordWrite(model, id, payload, expires_in, grant_id, sub, kept_at=time.time())
        unit = self.current_unit()
        if unit is None:
            await self.cache.apply([write])
            return
        before = unit.writes.pop((model, id), None)
        write.fresh = before is not None and (before.payload is None or before.fresh)
        unit.writes[(model, id)] = write

    async def find(self, model: str, id: str) -> JSON | None:
        if not is_short_lived(model):
            return await self.durable.find(model, id)
        held = self._held(model, id)
        if held is not None:
            return _as_found(held)
        return await self.cache.find(model, id)

    async def consume(self, model: str, id: str) -> JSON | None:
        if not is_short_lived(model):
            return await self.durable.consume(model, id)
        held = self._held(model, id)
        if held is None:
            return await self.cache.consume(model, id)
        if held.payload is None or held.consumed:
            return None
        held.consumed = True  # no one else sees it before the unit lands
        return dict(held.payload)

    async def use_up(self, model: str, id: str) -> None:
        if not is_short_lived(model):
            await self.durable.use_up(model, id)
        elif await self.consume(model, id) is None:  # (at once: see the module's docstring)
            raise AlreadyUsed(model, id)

    async def destroy(self, model: str, id: str) -> None:
        if not is_short_lived(model):
            await self.durable.destroy(model, id)
            return
        unit = self.current_unit()
        if unit is None:
            await self.cache.apply([RecordWrite(model, id, None)])
            return
        unit.writes.pop((model, id), None)
        unit.writes[(model, id)] = RecordWrite(model, id, None)

    async def find_by_sub(self, model: str, sub: str) -> list[tuple[str, JSON]]:
        if not is_short_lived(model):
            return await self.durable.find_by_sub(model, sub)
        return self._overlaid(model, await self.cache.find_by_sub(model, sub), sub=sub)

    async def find_since(self, model: str, since: float) -> list[tuple[str, JSON]]:
        if not is_short_lived(model):
            return await self.durable.find_since(model, since)
        return self._overlaid(model, await self.cache.find_since(model, since), since=since)

    async def revoke_by_grant_id(self, grant_id: str) -> int:
        unit = self.current_unit()
        held = 0
        if unit is not None:
            for key, write in list(unit.writes.items()):
                if write.payload is not None and write.grant_id == grant_id:
                    unit.writes[key] = RecordWrite(write.model, write.id, None)
                    held += 1
        cached = await self.cache.revoke_by_grant_id(grant_id)
        return held + cached + await self.durable.revoke_by_grant_id(grant_id)

    def _held(self, model: str, id: str) -> RecordWrite | None:
        """The record as the current unit holds it back, if it wrote it."""
        unit = self.current_unit()
        return None if unit is None else unit.writes.get((model, id))

    def _overlaid(
        self,
        model: str,
        listed: list[tuple[str, JSON]],
        *,
        sub: str | None = None,
        since: float | None = None,
    ) -> list[tuple[str, JSON]]:
        """What Redis listed, as the current unit sees it with its held-back writes:
        records it removed or moved away left out, records it kept added after the
        others (they are the newest)."""
        unit = self.current_unit()
        if unit is None:
            return listed

        def matches(write: RecordWrite) -> bool:
            if write.payload is None or write.model != model:
                return False
            return write.sub == sub if since is None else write.kept_at >= since

        seen: list[tuple[str, JSON]] = []
        for id, payload in listed:
            held = unit.writes.get((model, id))
            if held is None:
                seen.append((id, payload))
            elif matches(held):
                seen.append((id, _as_found(held)))  # type: ignore[arg-type]
        listed_ids = {id for id, _ in listed}
        for write in unit.writes.values():
            if write.id not in listed_ids and matches(write):
                seen.append((write.id, _as_found(write)))  # type: ignore[arg-type]
        return seen

    # --- counters: Redis
    async def _turn(self, key: str) -> None:
        """Inside a unit, hold the counter's turn until the unit has landed."""
        unit = self.current_unit()
        if unit is None or key in unit.turns:
            return
        async with unit.taking:  # tasks the unit's task started share it
            if key not in unit.turns:
                unit.turns[key] = await self.cache.take_turn(key)

    async def hit(self, key: str, window: int) -> int:
        await self._turn(key)
        return await self.cache.hit(key, window)

    async def release(self, key: str) -> None:
        await self._turn(key)
        await self.cache.release(key)

    async def count(self, key: str) -> int:
        return await self.cache.count(key)

    async def clear(self, key: str) -> None:
        await self._turn(key)
        await self.cache.clear(key)

    # --- a whole store at once
    async def export_all(self) -> Snapshot:
        snapshot = await self.durable.export_all()
        records, counters = await self.cache.export()
        snapshot.records = sorted(
            [*snapshot.records, *records], key=lambda r: (r.created_at, r.model, r.id)
        )
        snapshot.counters = [*snapshot.counters, *counters]
        return snapshot

    async def import_all(self, snapshot: Snapshot) -> None:
        cached: list[StoredRecord] = []
        durable = Snapshot(snapshot.users, snapshot.clients, snapshot.keys)
        for record in snapshot.records:
            (cached if is_short_lived(record.model) else durable.records).append(record)
        await self.durable.import_all(durable)
        await self.cache.import_all(cached, snapshot.counters)


def _as_found(write: RecordWrite) -> JSON | None:
    """A held-back write as find() would return it once landed."""
    if write.payload is None:
        return None
    return {**write.payload, "consumed": True} if write.consumed else dict(write.payload)


def open_cached(url: str, cache_url: str) -> CachedStore:
    """The PostgreSQL store at `url` with the Redis cache at `cache_url`."""
    from idp.store.postgres import PostgresStore

    connections = RedisConnections(cache_url)
    return CachedStore(
        PostgresStore(url, listen=False), RedisCache(connections), RedisWakeups(connections)
    )
