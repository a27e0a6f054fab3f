"""What a user has enrolled with Pocket: the authenticator app (TOTP) and recovery codes.

The TOTP secret is kept sealed (see secrets_at_rest.py); it is opened only to check a code.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from idp.store import Store
from plugins.pocket_mfa.recovery import RecoveryCodes
from plugins.pocket_mfa.secrets_at_rest import SecretBox

TOTP_MODEL = "pocket-totp"


@dataclass(frozen=True)
class Method:
    """One enrolled method (an idp.factors.EnrolledMethod)."""

    kind: str
    label: str
    created_at: int


class Enrollments:
    def __init__(self, store: Store, box: SecretBox, recovery: RecoveryCodes) -> None:
        self.store = store
        self.box = box
        self.recovery = recovery

    def has_totp(self, sub: str) -> bool:
        return self.store.find(TOTP_MODEL, sub) is not None

    def save_totp(self, sub: str, secret: str, label: str = "Authenticator app") -> None:
        """Enroll (or replace) the user's authenticator app."""
        payload = {
            "secret": self.box.seal(secret, sub),
            "label": label,
            "created_at": int(time.time()),
        }
        self.store.upsert(TOTP_MODEL, sub, payload)

    def totp_secret(self, sub: str) -> str | None:
        record = self.store.find(TOTP_MODEL, sub)
        return self.box.open(record["secret"], sub) if record else None

    def methods(self, sub: str) -> list[Method]:
        found: list[Method] = []
        record = self.store.find(TOTP_MODEL, sub)
        if record is not None:
            found.append(
                Method(
                    "totp",
                    record.get("label") or "Authenticator app",
                    int(record.get("created_at", 0)),
                )
            )
        left, issued = self.recovery.remaining(sub)
        if left:
            found.append(Method("recovery codes", f"{left} recovery codes left", issued))
        return found

    def remove_all(self, sub: str) -> int:
        removed = 0
        if self.store.find(TOTP_MODEL, sub) is not None:
            self.store.destroy(TOTP_MODEL, sub)
            removed += 1
        return removed + self.recovery.remove(sub)
