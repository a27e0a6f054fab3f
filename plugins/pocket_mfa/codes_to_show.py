"""New recovery codes waiting for the page that shows them: shown once, then gone.

The enrollment wizard issues the codes when the factor is saved and shows them on its
done page. They are kept sealed until that page first opens; it takes them, so a reload
(or a second tab) does not show them again, and the store no longer holds them.
"""

from __future__ import annotations

import json

from idp.store import RecordView
from plugins.pocket_mfa.secrets_at_rest import SecretBox

MODEL = "codes_to_show"


class CodesToShow:
    def __init__(self, records: RecordView, box: SecretBox, ttl: int) -> None:
        self.records = records
        self.box = box
        self.ttl = ttl

    async def keep(self, key: str, sub: str, codes: list[str]) -> None:
        payload = {"sub": sub, "codes": self.box.seal(json.dumps(codes), sub)}
        await self.records.upsert(MODEL, key, payload, expires_in=self.ttl)

    async def take(self, key: str, sub: str) -> list[str] | None:
        """The codes, to the first request that asks; None to every later one."""
        async with self.records.unit():
            record = await self.records.consume(MODEL, key)
            await self.records.destroy(MODEL, key)
        if record is None or record.get("sub") != sub:
            return None
        codes: list[str] = json.loads(self.box.open(record["codes"], sub))
        return codes

    async def drop(self, key: str) -> None:
        await self.records.destroy(MODEL, key)
