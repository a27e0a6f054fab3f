"""AuditTrail: records an event everywhere it goes (JSON line, store, webhook) and reads
the kept ones back."""

from __future__ import annotations

import copy
import re
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING

import orjson
from starlette.requests import Request

from idp.audit.lines import JsonLines
from idp.request_ids import request_id
from idp.settings import AuditSettings
from idp.store.base import JSON, RecordView

if TYPE_CHECKING:
    from idp.audit.webhook import AuditWebhook

#: the store's model of audit events: durable (not in idp.store.short_lived)
MODEL = "audit"
DAY = 24 * 3600
#: the names of details that would hold a secret: refused, whoever passes them
_SECRET_NAME = re.compile(r"password|secret|token|code|key|otp", re.IGNORECASE)


class AuditTrail:
    """What every part records its security events with (FactorHost.audit for plugins).

    `acting(actor, request)` gives the same trail for an admin action: its events name
    the acting client ("cli" for the `idp` command) and that request's address."""

    def __init__(
        self,
        records: RecordView,
        settings: AuditSettings,
        *,
        stream: IO[str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.records = records
        self.settings = settings
        self.lines = JsonLines(settings.output, settings.file, stream)
        self.webhook: AuditWebhook | None = None
        if settings.webhook_url:  # (an HTTP client only where events go to a webhook)
            from idp.audit.webhook import AuditWebhook

            self.webhook = AuditWebhook(
                settings.webhook_url,
                settings.webhook_secret,
                tries=settings.webhook_tries,
                queue_size=settings.webhook_queue,
            )
        self.clock = clock
        self.actor: str | None = None
        self.request: Request | None = None

    def acting(self, actor: str, request: Request | None = None) -> AuditTrail:
        """This trail, for the actions of an administrator (a client id, or "cli")."""
        bound = copy.copy(self)
        bound.actor = actor
        bound.request = request
        return bound

    async def record(
        self,
        event: str,
        *,
        outcome: str = "success",
        reason: str | None = None,
        sub: str | None = None,
        client: str | None = None,
        ip: str | None = None,
        user_agent: str | None = None,
        request: Request | None = None,
        **details: str | int | float | bool | list[str] | None,
    ) -> JSON:
        """Keep one event; `request` (or the one given to `acting`) supplies the address
        and user agent unless they are given. Returns the record as kept."""
        for name in details:
            if _SECRET_NAME.search(name):
                raise ValueError(f"audit event {event}: {name!r} may hold a secret")
        request = request or self.request
        if request is not None:
            ip = ip or (request.client.host if request.client else None)
            user_agent = user_agent or request.headers.get("user-agent")
        now = self.clock()
        entry: JSON = {
            "id": f"{int(now * 1000):013d}-{secrets.token_hex(6)}",
            "time": datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds"),
            "at": now,
            "event": event,
            "outcome": outcome,
            "reason": reason,
            "sub": sub,
            "client": client,
            "ip": ip,
            "user_agent": user_agent,
            "request_id": request_id.get(),
            "actor": self.actor,
            **{k: v for k, v in details.items() if v is not None},
        }
        self.lines.write(entry)
        await self.records.upsert(
            MODEL, entry["id"], entry, expires_in=self.settings.retention * DAY, sub=sub
        )
        if self.webhook is not None:
            self.webhook.send(orjson.dumps(entry))
        return entry

    async def events(self, since: float = 0, sub: str | None = None) -> list[JSON]:
        """The kept events from `since` on (of one user, with `sub`), oldest first."""
        if sub is not None:
            found = await self.records.find_by_sub(MODEL, sub)
        else:
            found = await self.records.find_since(MODEL, max(since - 5, 0))
        events = [payload for _, payload in found if payload.get("at", 0) >= since]
        events.sort(key=lambda e: (e.get("at", 0), e.get("id", "")))
        return events

    async def aclose(self) -> None:
        """Deliveries to the webhook finish (or are cancelled), the file is closed."""
        if self.webhook is not None:
            await self.webhook.aclose()
        self.lines.close()
