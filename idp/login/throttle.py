"""Brute-force protection for the password step: slow down, then refuse for a while.

Failures are counted per account and per address in the store, so the counts survive
a restart and are shared by every process.
"""

from __future__ import annotations

from dataclasses import dataclass

from idp.settings import LoginSettings
from idp.store import Store

MAX_DELAY = 5.0


@dataclass(frozen=True)
class Verdict:
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
    def _keys(username: str, address: str) -> tuple[str, str]:
        return f"login-fail:user:{username.lower()}", f"login-fail:addr:{address}"

    def check(self, username: str, address: str) -> Verdict:
        user_key, addr_key = self._keys(username, address)
        user_fails, addr_fails = self.store.count(user_key), self.store.count(addr_key)
        s = self.settings
        minutes = max(1, -(-s.window // 60))
        if user_fails >= s.account_limit or addr_fails >= s.address_limit:
            return Verdict(True, 0.0, minutes)
        # an account slows down after `slow_after` failures; an address, which may be a
        # shared office or NAT, only after as many failures as one account may have in all
        excess = max(user_fails - s.slow_after, addr_fails - s.account_limit - s.slow_after)
        delay = min(MAX_DELAY, s.delay_step * (excess + 1)) if excess >= 0 else 0.0
        return Verdict(False, delay, minutes)

    def failed(self, username: str, address: str) -> None:
        user_key, addr_key = self._keys(username, address)
        self.store.hit(user_key, self.settings.window)
        self.store.hit(addr_key, self.settings.window)

    def succeeded(self, username: str) -> None:
        self.store.clear(self._keys(username, "")[0])
