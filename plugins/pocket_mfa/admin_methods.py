"""What an administrator sees and removes of a user's Pocket methods (idp.factors.MethodAdmin):
the authenticator app, each paired phone, the recovery codes."""

from __future__ import annotations

from idp.factors import DEFAULT_LOCALE, AdminMethod
from idp.store import User
from plugins.pocket_mfa.services import Services

#: the ids of the methods a user has at most one of; a phone's id is its device id
TOTP_ID = "totp"
RECOVERY_CODES_ID = "recovery-codes"
_IDS = {"totp": TOTP_ID, "recovery codes": RECOVERY_CODES_ID}


async def admin_methods(s: Services, user: User) -> list[AdminMethod]:
    found = [
        AdminMethod(id=_IDS[m.kind], kind=m.kind, label=m.label, created_at=m.created_at)
        for m in await s.enrollments.methods(user.sub, s.host.pages.translator(DEFAULT_LOCALE))
    ]
    devices = [
        AdminMethod(
            id=d.device_id,
            kind=d.kind,
            label=d.name,
            created_at=d.paired_at,
            last_used=d.last_used,
            device=True,
        )
        for d in await s.push.devices.list(user.sub)
    ]
    at = next((i for i, m in enumerate(found) if m.id == RECOVERY_CODES_ID), len(found))
    return found[:at] + devices + found[at:]


async def remove_method(s: Services, user: User, method_id: str) -> bool:
    """Remove one method; the removal of a phone is audited, as on the account pages."""
    async with s.records.unit():
        if method_id == TOTP_ID:
            return await s.enrollments.remove_totp(user.sub)
        if method_id == RECOVERY_CODES_ID:
            return await s.recovery.remove(user.sub) > 0
        device = await s.push.devices.get(method_id)
        if device is None or not await s.push.devices.remove(user.sub, method_id):
            return False
        await s.push.audit.record(
            "device_removed", sub=user.sub, device_id=device.device_id, name=device.name
        )
        return True
