"""Reading the audit trail (idp.audit): events filtered by user, event name and time,
page by page, oldest first."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from idp.admin.errors import InvalidField
from idp.audit import AuditTrail
from idp.store.base import JSON

DEFAULT_PAGE = 50
MAX_PAGE = 500
#: an event's id: its time in milliseconds and a random part; ids sort by time
_EVENT_ID = re.compile(r"[0-9]{13}-[0-9a-f]{12}")
_EVENT_NAME = re.compile(r"[a-z0-9_.]{1,64}")


@dataclass(frozen=True)
class EventPage:
    events: list[JSON]
    #: what gives the next page; None on the last one
    cursor: str | None


class AuditAdmin:
    def __init__(self, trail: AuditTrail) -> None:
        self.trail = trail

    async def page(
        self,
        *,
        user: object = None,
        event: object = None,
        since: object = None,
        until: object = None,
        limit: object = None,
        cursor: object = None,
    ) -> EventPage:
        """At most `limit` events after `cursor` (the page before's), of `user` (a sub)
        and named `event` when given, kept from `since` up to `until` (each Unix seconds
        or an RFC 3339 date-time)."""
        size = DEFAULT_PAGE if limit is None else _limit(limit)
        start = _time("since", since) if since is not None else 0.0
        end = _time("until", until) if until is not None else None
        if end is not None and end < start:
            raise InvalidField("until", "must not be before since")
        if event is not None and not (isinstance(event, str) and _EVENT_NAME.fullmatch(event)):
            raise InvalidField("event", "must be an event name (lowercase letters, _ and .)")
        if user is not None and not (isinstance(user, str) and 0 < len(user) <= 200):
            raise InvalidField("user", "must be a user's id (sub)")
        after = _after(cursor) if cursor is not None else ""
        if after:
            start = max(start, int(after[:13]) / 1000)
        found = await self.trail.events(start, sub=user if isinstance(user, str) else None)
        chosen = [
            e
            for e in found
            if str(e.get("id", "")) > after
            and (event is None or e.get("event") == event)
            and (end is None or e.get("at", 0) <= end)
        ]
        chosen.sort(key=lambda e: str(e.get("id", "")))
        page = chosen[:size]
        more = len(chosen) > size
        return EventPage(page, str(page[-1]["id"]) if more else None)


def _limit(value: object) -> int:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PAGE:
        raise InvalidField("limit", f"must be a whole number from 1 to {MAX_PAGE}")
    return value


def _time(field: str, value: object) -> float:
    wrong = InvalidField(field, "must be Unix seconds or an RFC 3339 date-time with its offset")
    if not isinstance(value, str) or not value or len(value) > 40:
        raise wrong
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            raise wrong from None
        if when.tzinfo is None:
            raise wrong from None
        return when.timestamp()
    if not 0 <= seconds < 1e11:
        raise wrong
    return seconds


def _after(cursor: object) -> str:
    if not isinstance(cursor, str) or not _EVENT_ID.fullmatch(cursor):
        raise InvalidField("cursor", "is not a cursor this IdP gave")
    return cursor
