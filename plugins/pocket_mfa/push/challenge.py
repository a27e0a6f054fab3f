"""A push challenge, its login context and its possible outcomes."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass
from typing import Any

from idp.store import JSON


class Outcome(enum.StrEnum):
    APPROVED = "approved"
    DENIED = "denied"
    #: denied and reported as fraud by the user
    FRAUD = "fraud"
    #: approved with a number other than the one the browser showed: the login fails
    WRONG_NUMBER = "wrong_number"
    EXPIRED = "expired"
    #: withdrawn by the IdP: the login was stopped, finished with a code, or sent anew
    WITHDRAWN = "withdrawn"
    #: not answered yet (only when a wait ends before the challenge does)
    PENDING = "pending"

    @property
    def final(self) -> bool:
        return self is not Outcome.PENDING

    @property
    def unanswered(self) -> bool:
        """Closed without an answer (expired or withdrawn): an answer now comes too late."""
        return self in (Outcome.EXPIRED, Outcome.WITHDRAWN)


@dataclass(frozen=True)
class PushContext:
    """What the phone shows about the login it is asked to approve."""

    client_name: str
    ip: str
    browser: str
    #: an approximate place, if known ("Utrecht, NL")
    location: str | None = None


@dataclass(frozen=True)
class Challenge:
    id: str
    sub: str
    client_name: str
    ip: str
    browser: str
    location: str | None
    created_at: int
    expires_at: int
    #: the number the browser shows (10..99)
    number: int
    #: three distinct numbers for the phone, the right one among them; None without matching
    numbers: list[int] | None
    #: the login it was sent for, or the confirmation of an account change (never shown
    #: to the phone): a new push for that login, or the login's end, withdraws it
    login_id: str | None = None

    def payload(self) -> JSON:
        return asdict(self)

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Challenge:
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in payload.items() if k in known})

    def for_device(self) -> JSON:
        """The challenge as the device API shows it (never the right number by itself)."""
        return {
            "id": self.id,
            "client_name": self.client_name,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "ip": self.ip,
            "browser": self.browser,
            "location": self.location,
            "numbers": self.numbers,
        }
