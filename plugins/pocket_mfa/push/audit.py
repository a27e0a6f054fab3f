"""The push audit trail: every refusal and every failed answer, in the log and the store.

Each event is a log record on logger "pocket.audit" and a record in the store, listed by
the time it was kept (RecordView.find_since).
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from typing import Any

from idp.store import JSON, RecordView

AUDIT_MODEL = "audit"
log = logging.getLogger("pocket.audit")


class Audit:
    def __init__(
        self, records: RecordView, retention: int, clock: Callable[[], float] = time.time
    ) -> None:
        self.records = records
        self.retention = retention
        self.clock = clock

    async def record(self, event: str, **fields: Any) -> str:
        """Keep one event; returns its record id."""
        now = self.clock()
        record_id = secrets.token_hex(12)
        payload = {"event": event, "at": now, **{k: v for k, v in fields.items() if v is not None}}
        log.warning("pocket %s %s", event, _fields(fields), extra={"pocket_event": payload})
        await self.records.upsert(AUDIT_MODEL, record_id, payload, expires_in=self.retention)
        return record_id

    async def events(self, since: float = 0) -> list[JSON]:
        """The kept events from `since` on, oldest first."""
        return [payload for _, payload in await self.records.find_since(AUDIT_MODEL, since)]


def _fields(fields: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in sorted(fields.items()) if v is not None)
