"""Changes on the manage page that wait for the user's confirmation on the phone.

A change is what the user asked for (new recovery codes, link an app or a phone, remove
a phone), kept for its user until it is confirmed and made, or dropped. It is taken
once: of two pages that try to make it, one does.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from idp.store import RecordView

CHANGE_MODEL = "change"
CHANGE_TTL = 15 * 60
#: what the overview's buttons ask for, and removing a phone
ACTIONS = ("codes", "app", "pocket", "remove")


@dataclass(frozen=True)
class Change:
    id: str
    action: str
    #: the phone to remove
    device_id: str | None = None


class PendingChanges:
    def __init__(self, records: RecordView) -> None:
        self.records = records

    async def open(self, sub: str, action: str, device_id: str | None = None) -> Change:
        if action not in ACTIONS:
            raise ValueError(f"no such change: {action!r}")
        change = Change(secrets.token_urlsafe(18), action, device_id)
        payload = {"sub": sub, "action": action, "device_id": device_id}
        await self.records.upsert(CHANGE_MODEL, change.id, payload, expires_in=CHANGE_TTL)
        return change

    async def find(self, change_id: str, sub: str) -> Change | None:
        """The user's change, not yet made."""
        record = await self.records.find(CHANGE_MODEL, change_id)
        if record is None or record.get("consumed") or record.get("sub") != sub:
            return None
        return Change(change_id, str(record["action"]), record.get("device_id"))

    async def take(self, change_id: str, sub: str) -> Change | None:
        """The user's change, once: None for every later call, and for another user."""
        if await self.find(change_id, sub) is None:
            return None
        records = self.records
        async with records.unit():
            record = await records.consume(CHANGE_MODEL, change_id)
            await records.destroy(CHANGE_MODEL, change_id)
        if record is None:
            return None
        return Change(change_id, str(record["action"]), record.get("device_id"))

    async def drop(self, change_id: str) -> None:
        await self.records.destroy(CHANGE_MODEL, change_id)
