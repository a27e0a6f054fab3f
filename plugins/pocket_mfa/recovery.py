"""Recovery codes: single-use codes that stand in for a second factor when the phone is lost.

Each code is its own record, keyed by an HMAC of the code under a key the database does
not hold, so a copy of the database reveals no code. Using one consumes the record
atomically (the store's `consume`), so it works exactly once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from idp.store import RecordView

MODEL = "recovery"
#: no 0/o, 1/l/i: easy to read back from paper
ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
LENGTH = 10


def normalize(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def looks_like_recovery_code(code: str) -> bool:
    text = normalize(code)
    return len(text) == LENGTH and all(ch in ALPHABET for ch in text)


class RecoveryCodes:
    def __init__(self, records: RecordView, pepper: bytes) -> None:
        self.records = records
        self._pepper = hashlib.sha256(b"pocket recovery codes\x00" + pepper).digest()

    def _id(self, sub: str, code: str) -> str:
        mac = hmac.new(self._pepper, f"{sub}\x00{normalize(code)}".encode(), hashlib.sha256)
        return f"{sub}:{mac.hexdigest()}"

    async def issue(self, sub: str, count: int) -> list[str]:
        """Replace the user's codes with `count` new ones, all at once; the plain codes are
        returned once."""
        now = int(time.time())
        codes = []
        async with self.records.unit():
            await self.remove(sub)
            for _ in range(count):
                raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
                code = f"{raw[:5]}-{raw[5:]}"
                await self.records.upsert(MODEL, self._id(sub, code), {"created_at": now}, sub=sub)
                codes.append(code)
        return codes

    async def use(self, sub: str, code: str) -> bool:
        """True once for a valid code; the code is gone afterwards."""
        if not looks_like_recovery_code(code):
            return False
        record_id = self._id(sub, code)
        async with self.records.unit():
            if await self.records.consume(MODEL, record_id) is None:
                return False
            await self.records.destroy(MODEL, record_id)
        return True

    async def remaining(self, sub: str) -> tuple[int, int]:
        """How many unused codes the user has, and when they were issued (0 if none)."""
        found = await self.records.find_by_sub(MODEL, sub)
        rows = [p for _, p in found if not p.get("consumed")]
        return len(rows), min((int(p.get("created_at", 0)) for p in rows), default=0)

    async def remove(self, sub: str) -> int:
        rows = await self.records.find_by_sub(MODEL, sub)
        async with self.records.unit():
            for record_id, _ in rows:
                await self.records.destroy(MODEL, record_id)
        return len(rows)
