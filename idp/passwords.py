"""Password hashing with argon2id (RFC 9106); every hash and verify runs off the loop."""

from __future__ import annotations

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from idp import argon2id
from idp.offload import run_slow
from idp.settings import PasswordSettings

#: the shortest password accepted, wherever one is set (the commands, the account page)
MIN_LENGTH = 8


def too_short(password: str) -> bool:
    return len(password) < MIN_LENGTH


class Passwords:
    def __init__(self, settings: PasswordSettings) -> None:
        self.hasher = PasswordHasher(
            time_cost=settings.time_cost,
            memory_cost=settings.memory_cost,
            parallelism=settings.parallelism,
            type=Type.ID,
        )
        # verified against when the user does not exist, so both cases take as long
        self._decoy = self.hasher.hash("decoy password that matches nothing")

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        encoded = password_hash or self._decoy
        try:
            matched = argon2id.verify(encoded, password)  # memory kept between verifies
        except argon2id.Unsupported:
            matched = self._verify_by_argon2_cffi(encoded, password)
        return matched and bool(password_hash)

    def _verify_by_argon2_cffi(self, encoded: str, password: str) -> bool:
        try:
            return self.hasher.verify(encoded, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self.hasher.check_needs_rehash(password_hash)

    async def verify_async(self, password_hash: str | None, password: str) -> bool:
        return await run_slow(self.verify, password_hash, password)

    async def hash_async(self, password: str) -> str:
        return await run_slow(self.hash, password)
