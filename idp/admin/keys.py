"""Signing keys: listed with their state, and rotated (new active keys; the old ones stay
published until the tokens they signed have expired)."""

from __future__ import annotations

import builtins
import time
from dataclasses import dataclass

from idp.admin.errors import InvalidField
from idp.audit import AuditTrail
from idp.keys import ALGORITHMS, KeyRing
from idp.store import SigningKey


@dataclass(frozen=True)
class KeyInfo:
    kid: str
    alg: str
    #: "active", "published" (rotated, still in the JWKS) or "retired"
    state: str
    created_at: int
    rotated_at: int | None
    retire_at: int | None


def key_info(key: SigningKey, now: float) -> KeyInfo:
    if key.retire_at and key.retire_at < now:
        state = "retired"
    elif key.rotated_at:
        state = "published"
    else:
        state = "active"
    return KeyInfo(key.kid, key.alg, state, key.created_at, key.rotated_at, key.retire_at)


class KeyAdmin:
    def __init__(self, keys: KeyRing, audit: AuditTrail) -> None:
        self.keys = keys
        self.audit = audit

    async def list(self) -> list[KeyInfo]:
        now = time.time()
        return [key_info(key, now) for key in await self.keys.store.list_keys()]

    async def rotate(self, algs: object = None) -> builtins.list[KeyInfo]:
        """New active keys for `algs` (every algorithm when None)."""
        chosen = ALGORITHMS if algs is None else _algorithms(algs)
        now = time.time()
        new = [key_info(key, now) for key in await self.keys.rotate(chosen)]
        await self.audit.record(
            "keys_rotated", kids=[k.kid for k in new], algorithms=[k.alg for k in new]
        )
        return new


def _algorithms(value: object) -> tuple[str, ...]:
    if (
        not isinstance(value, list)
        or not value
        or any(alg not in ALGORITHMS for alg in value)
        or len(set(value)) != len(value)
    ):
        raise InvalidField("algorithms", f"must be a list of some of {', '.join(ALGORITHMS)}")
    return tuple(value)
