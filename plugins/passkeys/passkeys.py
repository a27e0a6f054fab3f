"""The passkeys users registered: one record per credential, under the user's sub."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from idp.store import JSON, RecordView

MODEL = "credential"


@dataclass(frozen=True)
class Passkey:
    #: the credential id, base64url
    id: str
    sub: str
    name: str
    #: COSE public key, base64url
    public_key: str
    sign_count: int
    created_at: int
    aaguid: str = ""
    last_used: int | None = None
    #: backup eligible (BE, fixed at creation) and backed up (BS, may change), WebAuthn
    #: Level 3, 6.1: a passkey that may be synced to other devices
    backup_eligible: bool = False
    backup_state: bool = False
    transports: list[str] = field(default_factory=list)

    # --- idp.factors.EnrolledMethod
    @property
    def kind(self) -> str:
        return "passkey"

    @property
    def label(self) -> str:
        return self.name

    @classmethod
    def from_json(cls, data: JSON) -> Passkey:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


class Passkeys:
    def __init__(self, records: RecordView) -> None:
        self.records = records

    async def list(self, sub: str) -> list[Passkey]:
        return [Passkey.from_json(data) for _, data in await self.records.find_by_sub(MODEL, sub)]

    async def find(self, credential_id: str) -> Passkey | None:
        data = await self.records.find(MODEL, credential_id)
        return Passkey.from_json(data) if data is not None else None

    async def add(self, passkey: Passkey) -> None:
        await self.records.upsert(MODEL, passkey.id, asdict(passkey), sub=passkey.sub)

    async def used(self, passkey: Passkey, sign_count: int, backup_state: bool, at: int) -> Passkey:
        """Keep the counter, the backup state and the time of a login."""
        updated = replace(passkey, sign_count=sign_count, backup_state=backup_state, last_used=at)
        await self.add(updated)
        return updated

    async def remove(self, sub: str, credential_id: str) -> Passkey | None:
        """Remove one of the user's passkeys; None if the user has none of that id."""
        passkey = await self.find(credential_id)
        if passkey is None or passkey.sub != sub:
            return None
        await self.records.destroy(MODEL, credential_id)
        return passkey

    async def remove_all(self, sub: str) -> int:
        found = await self.list(sub)
        for passkey in found:
            await self.records.destroy(MODEL, passkey.id)
        return len(found)
