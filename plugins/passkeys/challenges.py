"""Challenges: each kept with a time to live, bound to what it was made for (a login,
or the user of a manage page), and taken once: the first answer consumes it atomically
(RecordView.consume), a replay finds nothing."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

from idp.store import RecordView

MODEL = "challenge"


@dataclass(frozen=True)
class Challenge:
    value: bytes
    #: "enroll", "verify", "passwordless" or "manage"
    purpose: str
    #: the login id, or the sub of the manage page's user
    bound_to: str


class Challenges:
    def __init__(self, records: RecordView, ttl: int) -> None:
        self.records = records
        self.ttl = ttl

    async def keep(self, value: bytes, purpose: str, bound_to: str) -> str:
        """Keep a challenge sent to a browser; returns the id its answer names."""
        challenge_id = secrets.token_urlsafe(18)
        payload = {"value": bytes_to_base64url(value), "purpose": purpose, "bound_to": bound_to}
        await self.records.upsert(MODEL, challenge_id, payload, expires_in=self.ttl)
        return challenge_id

    async def take(self, challenge_id: object, purpose: str, bound_to: str) -> Challenge | None:
        """The challenge, once; None if unknown, expired, used, or made for another
        purpose or login."""
        if not isinstance(challenge_id, str) or not challenge_id or len(challenge_id) > 64:
            return None
        data = await self.records.consume(MODEL, challenge_id)
        if data is None or data.get("purpose") != purpose or data.get("bound_to") != bound_to:
            return None
        return Challenge(base64url_to_bytes(str(data["value"])), purpose, bound_to)
