"""Brute-force protection for the password step: slow down, then refuse for a while.

Attempts are counted per account and per address in the store, so the counts survive a
restart and are shared by every process. An attempt is counted before its password is
verified, in one atomic step per count (`Store.hit`): however many requests arrive at
once, each sees its own place in the count, and no more verifies run than the limits
allow. An attempt refused there gives its place back; a correct password clears the
account's count and gives back the address's place.

The account's count is kept per kind of browser (see `idp.login.known_browsers`): a
browser that has logged in to the account before has an allowance of its own, and every
other browser shares one. Failures sent by a stranger therefore lock out only the
browsers the account has never used, never its owner's known ones.
"""

from __future__ import annotations

from dataclasses import dataclass

from idp.login.known_browsers import account_name
from idp.settings import LoginSettings
from idp.store import Store

MAX_DELAY = 5.0


@dataclass(frozen=True)
class Attempt:
    """One password attempt's places in the counts."""

    account_key: str
    address_key: str
    refused: bool
    #: seconds to wait before checking the password
    delay: float
    #: when refused: the longest the visitor may have to wait, in minutes
    retry_minutes: int


class LoginThrottle:
    def __init__(self, store: Store, settings: LoginSettings) -> None:
        self.store = store
        self.settings = settings

    @staticmethod
    def account_key(username: str, device_id: str | None = None) -> str:
        name = account_name(username)
        if device_id is None:
            return f"login-fail:user:{name}"
        return f"login-fail:device:{device_id}:{name}"

    @staticmethod
    def address_key(address: str) -> str:
        return f"login-fail:addr:{address}"

    async def admit(self, username: str, address: str, device_id: str | None = None) -> Attempt:
        """Count an attempt before its password is checked; `refused` if over a limit.

        `device_id` names a browser that has logged in to this account before (its own
        allowance); None stands for every other browser.
        """
        s = self.settings
        account_key, address_key = self.account_key(username, device_id), self.address_key(address)
        account = await self.store.hit(account_key, s.window)
        address_count = await self.store.hit(address_key, s.window)
        minutes = max(1, -(-s.window // 60))
        if account > s.account_limit or address_count > s.address_limit:
            await self.store.release(account_key)
            await self.store.release(address_key)
            return Attempt(account_key, address_key, True, 0.0, minutes)
        # an account slows down after `slow_after` earlier attempts; an address, which may
        # be a shared office or NAT, only after as many as one account may have in all
        before, address_before = account - 1, address_count - 1
        excess = max(before - s.slow_after, address_before - s.account_limit - s.slow_after)
        delay = min(MAX_DELAY, s.delay_step * (excess + 1)) if excess >= 0 else 0.0
        return Attempt(account_key, address_key, False, delay, minutes)

    async def succeeded(self, attempt: Attempt) -> None:
        """The password was right: the account starts afresh in this kind of browser, and
        the address keeps only its failures."""
        await self.store.clear(attempt.account_key)
        await self.store.release(attempt.address_key)
