"""Password hashing with argon2id (RFC 9106); every hash and verify runs off the loop."""

from __future__ import annotations

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from idp.offload import run_slow
from idp.settings import PasswordSettings


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
        try:
            return self.hasher.verify(password_hash or self._decoy, password) and bool(
                password_hash
            )
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self.hasher.check_needs_rehash(password_hash)

    async def verify_async(self, password_hash: str | None, password: str) -> bool:
        return await run_slow(self.verify, password_hash, password)

    async def hash_async(self, password: str) -> str:
        return await run_slow(self.hash, password)
