"""What a user has enrolled with Pocket: the authenticator app (TOTP) and recovery codes.

The TOTP secret is kept sealed (see secrets_at_rest.py); it is opened only to check a code.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from idp.factors import Translate
from idp.store import RecordView
from plugins.pocket_mfa.recovery import RecoveryCodes
from plugins.pocket_mfa.secrets_at_rest import SecretBox

TOTP_MODEL = "totp"


@dataclass(frozen=True)
class Method:
    """One enrolled method (an idp.factors.EnrolledMethod)."""

    kind: str
    label: str
    created_at: int


class Enrollments:
    def __init__(self, records: RecordView, box: SecretBox, recovery: RecoveryCodes) -> None:
        self.records = records
        self.box = box
        self.recovery = recovery

    async def has_totp(self, sub: str) -> bool:
        return await self.records.find(TOTP_MODEL, sub) is not None

    async def save_totp(self, sub: str, secret: str) -> None:
        """Enroll (or replace) the user's authenticator app."""
        payload = {"secret": self.box.seal(secret, sub), "created_at": int(time.time())}
        await self.records.upsert(TOTP_MODEL, sub, payload)

    async def totp_secret(self, sub: str) -> str | None:
        record = await self.records.find(TOTP_MODEL, sub)
        return self.box.open(record["secret"], sub) if record else None

    async def methods(self, sub: str, t: Translate) -> list[Method]:
        """The authenticator app and the recovery codes, labelled by `t`."""
        found: list[Method] = []
        record = await self.records.find(TOTP_MODEL, sub)
        if record is not None:
            found.append(Method("totp", t("pocket.manage.app"), int(record.get("created_at", 0))))
        left, issued = await self.recovery.remaining(sub)
        if left:
            label = t("pocket.manage.codes_count", count=left)
            found.append(Method("recovery codes", label, issued))
        return found

    async def remove_totp(self, sub: str) -> bool:
        """Remove the authenticator app; False if the user has none."""
        async with self.records.unit():
            if await self.records.find(TOTP_MODEL, sub) is None:
                return False
            await self.records.destroy(TOTP_MODEL, sub)
        return True

    async def remove_all(self, sub: str) -> int:
        """Remove the authenticator app and the recovery codes, together."""
        removed = 0
        async with self.records.unit():
            if await self.records.find(TOTP_MODEL, sub) is not None:
                await self.records.destroy(TOTP_MODEL, sub)
                removed += 1
            return removed + await self.recovery.remove(sub)
