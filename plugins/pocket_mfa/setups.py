"""Authenticator setups waiting for their first code: nothing is enrolled until then.

A setup is a short-lived record holding a new secret (sealed) for one user. Reloading
the page keeps the same secret, so an app that scanned it already keeps working.
"""

from __future__ import annotations

from idp.store import RecordView
from plugins.pocket_mfa.secrets_at_rest import SecretBox
from plugins.pocket_mfa.totp import new_secret

MODEL = "setup"


class Setups:
    def __init__(self, records: RecordView, box: SecretBox, ttl: int) -> None:
        self.records = records
        self.box = box
        self.ttl = ttl

    async def open(self, setup_id: str, sub: str) -> str:
        """The secret of this setup, made on first use."""
        secret = await self.secret(setup_id, sub)
        if secret is None:
            secret = new_secret()
            payload = {"sub": sub, "secret": self.box.seal(secret, sub)}
            await self.records.upsert(MODEL, setup_id, payload, expires_in=self.ttl)
        return secret

    async def secret(self, setup_id: str, sub: str) -> str | None:
        record = await self.records.find(MODEL, setup_id)
        if record is None or record.get("consumed") or record.get("sub") != sub:
            return None
        return self.box.open(record["secret"], sub)

    async def close(self, setup_id: str) -> bool:
        """Atomically end the setup; False if another request ended it first."""
        async with self.records.unit():
            done = await self.records.consume(MODEL, setup_id) is not None
            await self.records.destroy(MODEL, setup_id)
        return done

    async def drop(self, setup_id: str) -> None:
        await self.records.destroy(MODEL, setup_id)
