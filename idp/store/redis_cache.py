"""The Redis half of a PostgreSQL store with a cache: short-lived records (short_lived.py)
and every counter, each with its lifetime as Redis's own expiry (PEXPIRE), so that
Redis forgets them by itself.

Single-use steps are one script each (redis_scripts.py): `consume` marks a record used
and returns its payload only if it was not used yet, so that of any number of consumers
in any processes exactly one gets it; `hit` counts and starts the window in one step. A
consumed record stays, marked, until it expires, as in every store (a code used twice
is told from an unknown one). Writes a unit holds back land together in one MULTI/EXEC
(`apply`). What only a whole-store copy needs (`find_since`, `export`) walks the keys
with SCAN.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from idp.errors import StoreUnavailable
from idp.store.base import JSON, StoredCounter, StoredRecord
from idp.store.codec import dump_payload, load_payload
from idp.store.redis_connections import RedisConnections, translated
from idp.store.redis_scripts import (
    BY_SUB,
    CONSUME,
    GIVE_TURN,
    HIT,
    RELEASE,
    REVOKE,
    UPSERT,
)

PREFIX = "idp:"
_RECORD, _BY_SUB, _BY_GRANT, _COUNTER, _TURN = (
    PREFIX + "r:",
    PREFIX + "s:",
    PREFIX + "g:",
    PREFIX + "c:",
    PREFIX + "t:",
)
#: a unit holds a counter's turn (`take_turn`) for at most this long
TURN_SECONDS = 30.0
_SCAN_BATCH = 500


@dataclass
class RecordWrite:
    """A record as a unit leaves it: kept (with `payload`) or removed (`payload` None)."""

    model: str
    id: str
    payload: JSON | None
    expires_in: float | None = None
    grant_id: str | None = None
    sub: str | None = None
    #: consumed within the unit that holds it back
    consumed: bool = False
    #: removed and then kept again within the unit: it lands as a new record
    fresh: bool = False
    #: when it was first kept (seconds since the epoch), as the unit saw it
    kept_at: float = 0.0


def record_key(model: str, id: str) -> str:
    return f"{_RECORD}{model}:{id}"


def _marked(value: str | None) -> str:
    return "" if value is None else "=" + value


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogatepass")


def _glob(text: str) -> str:
    """`text` matched literally by SCAN's MATCH."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


class RedisCache:
    def __init__(self, connections: RedisConnections) -> None:
        self.connections = connections

    @property
    def where(self) -> str:
        return self.connections.where

    # --- records
    def _upsert_args(self, write: RecordWrite, now: float) -> tuple[list[str], list[object]]:
        assert write.payload is not None
        ttl = "" if write.expires_in is None else str(int(write.expires_in * 1000))
        expires_at = "" if write.expires_in is None else repr(now + write.expires_in)
        keys = [
            record_key(write.model, write.id),
            f"{_BY_SUB}{write.model}:{write.sub or ''}",
            f"{_BY_GRANT}{write.grant_id or ''}",
        ]
        args: list[object] = [
            dump_payload(write.payload),
            ttl,
            repr(write.kept_at or now),
            _marked(write.sub),
            _marked(write.grant_id),
            write.id,
            f"{write.model}:{write.id}",
            "1" if write.consumed else "0",
            "1" if write.fresh else "0",
            expires_at,
        ]
        return keys, args

    async def apply(self, writes: Sequence[RecordWrite]) -> None:
        """Keep or remove these records, all in one step (one write: no transaction)."""
        if not writes:
            return
        now = time.time()
        client = self.connections.client()
        with translated(self.where):
            if len(writes) == 1:  # alone, it needs no transaction
                write = writes[0]
                if _removes(write):
                    await client.delete(record_key(write.model, write.id))
                else:
                    await UPSERT.run(client, *self._upsert_args(write, now))
                return
            async with client.pipeline(transaction=True) as pipe:
                for write in writes:
                    if _removes(write):
                        pipe.delete(record_key(write.model, write.id))
                    else:
                        UPSERT.queue(pipe, *self._upsert_args(write, now))
                await pipe.execute()

    async def find(self, model: str, id: str) -> JSON | None:
        client = self.connections.client()
        with translated(self.where):
            payload, consumed = await client.hmget(record_key(model, id), ["p", "c"])
        return None if payload is None else load_payload(payload, consumed == b"1")

    async def consume(self, model: str, id: str) -> JSON | None:
        client = self.connections.client()
        with translated(self.where):
            payload = await CONSUME.run(client, [record_key(model, id)], [])
        return None if payload is None else load_payload(payload)

    async def find_by_sub(self, model: str, sub: str) -> list[tuple[str, JSON]]:
        client = self.connections.client()
        with translated(self.where):
            flat = await BY_SUB.run(
                client, [f"{_BY_SUB}{model}:{sub}"], [f"{_RECORD}{model}:", _marked(sub)]
            )
        return [
            (_text(flat[i]), load_payload(flat[i + 1], flat[i + 2] == b"1"))
            for i in range(0, len(flat), 3)
        ]

    async def find_since(self, model: str, since: float) -> list[tuple[str, JSON]]:
        """Walks every record of the model (no model kept here is listed by time)."""
        found = [r for r in await self._scan_records(model) if r.created_at >= since]
        found.sort(key=lambda r: (r.created_at, r.id))
        return [(r.id, {**r.payload, "consumed": True} if r.consumed else r.payload) for r in found]

    async def revoke_by_grant_id(self, grant_id: str) -> int:
        client = self.connections.client()
        with translated(self.where):
            removed = await REVOKE.run(
                client, [f"{_BY_GRANT}{grant_id}"], [_RECORD, _marked(grant_id)]
            )
        return int(removed)

    # --- counters
    async def hit(self, key: str, window: int) -> int:
        client = self.connections.client()
        with translated(self.where):
            return int(await HIT.run(client, [_COUNTER + key], [int(window * 1000)]))

    async def release(self, key: str) -> None:
        client = self.connections.client()
        with translated(self.where):
            await RELEASE.run(client, [_COUNTER + key], [])

    async def count(self, key: str) -> int:
        client = self.connections.client()
        with translated(self.where):
            found = await client.get(_COUNTER + key)
        return int(found) if found is not None else 0

    async def clear(self, key: str) -> None:
        client = self.connections.client()
        with translated(self.where):
            await client.delete(_COUNTER + key)

    # --- turns: units that write one counter never overlap (Store.unit)
    async def take_turn(self, key: str) -> str:
        """Wait until no other unit holds the counter's turn, then hold it; the token to
        give it back with. A holder that never gave it back loses it after
        TURN_SECONDS."""
        token = secrets.token_hex(8)
        client = self.connections.client()
        pause = 0.005
        deadline = time.monotonic() + TURN_SECONDS + self.connections.timeout
        while True:
            with translated(self.where):
                taken = await client.set(_TURN + key, token, nx=True, px=int(TURN_SECONDS * 1000))
            if taken:
                return token
            if time.monotonic() > deadline:
                raise StoreUnavailable(f"the cache {self.where} kept the turn of {key!r}")
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.1)

    async def give_turn(self, key: str, token: str) -> None:
        client = self.connections.client()
        with translated(self.where):
            await GIVE_TURN.run(client, [_TURN + key], [token])

    # --- a whole store at once
    async def export(self) -> tuple[list[StoredRecord], list[StoredCounter]]:
        records = await self._scan_records(None)
        counters: list[StoredCounter] = []
        client = self.connections.client()
        now = time.time()
        with translated(self.where):
            async for batch in _batches(client.scan_iter(match=_COUNTER + "*", count=_SCAN_BATCH)):
                async with client.pipeline(transaction=False) as pipe:
                    for key in batch:
                        pipe.get(key)
                        pipe.pttl(key)
                    answers = await pipe.execute()
                for key, count, left in zip(batch, answers[::2], answers[1::2], strict=True):
                    if count is not None and left >= 0:
                        name = _text(key).removeprefix(_COUNTER)
                        counters.append(StoredCounter(name, int(count), now + left / 1000))
        return records, counters

    async def import_all(
        self, records: Sequence[StoredRecord], counters: Sequence[StoredCounter]
    ) -> None:
        now = time.time()
        writes: list[RecordWrite] = []
        for r in records:
            expires_in = None if r.expires_at is None else r.expires_at - now
            if expires_in is not None and expires_in <= 0:
                continue
            writes.append(
                RecordWrite(
                    r.model,
                    r.id,
                    r.payload,
                    expires_in,
                    r.grant_id,
                    r.sub,
                    consumed=r.consumed,
                    fresh=True,
                    kept_at=r.created_at,
                )
            )
        await self.apply(writes)
        client = self.connections.client()
        with translated(self.where):
            async with client.pipeline(transaction=True) as pipe:
                for c in counters:
                    left = int((c.expires_at - now) * 1000)
                    if left > 0:
                        pipe.set(_COUNTER + c.key, c.count, px=left)
                await pipe.execute()

    async def _scan_records(self, model: str | None) -> list[StoredRecord]:
        client = self.connections.client()
        match = _RECORD + ("*" if model is None else _glob(model) + ":*")
        found: list[StoredRecord] = []
        with translated(self.where):
            async for batch in _batches(client.scan_iter(match=match, count=_SCAN_BATCH)):
                async with client.pipeline(transaction=False) as pipe:
                    for key in batch:
                        pipe.hmget(key, ["p", "c", "t", "e", "g", "s"])
                    answers = await pipe.execute()
                for key, (payload, consumed, kept, expires, grant, sub) in zip(
                    batch, answers, strict=True
                ):
                    if payload is None:
                        continue  # expired meanwhile
                    name, _, id = _text(key).removeprefix(_RECORD).partition(":")
                    found.append(
                        StoredRecord(
                            model=name,
                            id=id,
                            payload=load_payload(payload),
                            expires_at=None if expires is None else float(expires),
                            grant_id=None if grant is None else _text(grant)[1:],
                            consumed=consumed == b"1",
                            sub=None if sub is None else _text(sub)[1:],
                            created_at=float(kept),
                        )
                    )
        return found


def _removes(write: RecordWrite) -> bool:
    return write.payload is None or (write.expires_in is not None and write.expires_in <= 0)


async def _batches(keys: AsyncIterator[bytes]) -> AsyncIterator[list[bytes]]:
    """SCAN's keys in lists of up to _SCAN_BATCH."""
    batch: list[bytes] = []
    async for key in keys:
        batch.append(key)
        if len(batch) >= _SCAN_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch
