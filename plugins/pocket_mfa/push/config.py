"""Settings of Pocket push, with every default here; the plugin fills them from its table."""

from __future__ import annotations

from dataclasses import dataclass

from plugins.pocket_mfa.errors import PocketConfigError


@dataclass(frozen=True)
class PushConfig:
    #: how long a pairing QR code can be used, in seconds
    pairing_ttl: int = 5 * 60
    #: how long a push challenge can be answered, in seconds
    challenge_ttl: int = 120
    #: the phone picks the number the browser shows among three
    number_matching: bool = True
    #: push challenges per user within `push_window` seconds that were not approved
    #: (unanswered, withdrawn, denied, wrong number): signs of push bombing
    push_limit: int = 3
    push_window: int = 60
    #: no longer used: push events are kept for the core's [audit] retention; still
    #: read so that config files that set it keep loading
    audit_retention: int = 90 * 24 * 3600
    #: the partner's push relay (empty: long-poll only) and its HMAC secret
    webhook_url: str = ""
    webhook_secret: str = ""

    def __post_init__(self) -> None:
        problems = [
            f"push.{key}: must be positive"
            for key in (
                "pairing_ttl",
                "challenge_ttl",
                "push_limit",
                "push_window",
                "audit_retention",
            )
            if getattr(self, key) < 1
        ]
        if self.webhook_url and not self.webhook_secret:
            problems.append("push.webhook_secret: required with push.webhook_url")
        if problems:
            raise PocketConfigError("; ".join(problems))
