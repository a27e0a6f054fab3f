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

from idp.store import Store

MODEL = "pocket-recovery"
#: no 0/o, 1/l/i: easy to read back from paper
ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
LENGTH = 10


def normalize(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def looks_like_recovery_code(code: str) -> bool:
    text = normalize(code)
    return len(text) == LENGTH and all(ch in ALPHABET for ch in text)


class RecoveryCodes:
    def __init__(self, store: Store, pepper: bytes) -> None:
        self.store = store
        self._pepper = hashlib.sha256(b"pocket recovery codes\x00" + pepper).digest()

    def _id(self, sub: str, code: str) -> str:
        mac = hmac.new(self._pepper, f"{sub}\x00{normalize(code)}".encode(), hashlib.sha256)
        return f"{sub}:{mac.hexdigest()}"

    def issue(self, sub: str, count: int) -> list[str]:
        """Replace the user's codes with `count` new ones; the plain codes are returned once."""
        self.remove(sub)
        now = int(time.time())
        codes = []
        for _ in range(count):
            raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
            code = f"{raw[:5]}-{raw[5:]}"
            self.store.upsert(MODEL, self._id(sub, code), {"created_at": now}, sub=sub)
            codes.append(code)
        return codes

    def use(self, sub: str, code: str) -> bool:
        """True once for a valid code; the code is gone afterwards."""
        if not looks_like_recovery_code(code):
            return False
        record_id = self._id(sub, code)
        if self.store.consume(MODEL, record_id) is None:
            return False
        self.store.destroy(MODEL, record_id)
        return True

    def remaining(self, sub: str) -> tuple[int, int]:
        """How many unused codes the user has, and when they were issued (0 if none)."""
        rows = [p for _, p in self.store.find_by_sub(MODEL, sub) if not p.get("consumed")]
        return len(rows), min((int(p.get("created_at", 0)) for p in rows), default=0)

    def remove(self, sub: str) -> int:
        rows = self.store.find_by_sub(MODEL, sub)
        for record_id, _ in rows:
            self.store.destroy(MODEL, record_id)
        return len(rows)
