"""Checking a user's code: throttling, RFC 6238 verification, replay refusal, recovery codes.

Every failure looks the same to the user ("that code is not right"); the reason goes to
the log and to the per-user failure counter, which lives in the store and so survives
a restart. After `max_failures` wrong codes within `lockout_window` seconds, codes are
refused (even correct ones) until the window has passed.

A check takes its place in the count (atomically, `Store.hit`) before the code is
looked at: however many arrive at once, no more than `max_failures` are checked. A
check refused there gives its place back; an accepted code clears the count.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from idp.store import Store
from plugins.pocket_mfa.config import PocketConfig
from plugins.pocket_mfa.enrollments import Enrollments
from plugins.pocket_mfa.recovery import looks_like_recovery_code
from plugins.pocket_mfa.totp import TotpParams, matching_step

log = logging.getLogger("idp.pocket")


class Outcome(Enum):
    ACCEPTED = "accepted"
    REFUSED = "refused"
    LOCKED = "locked"


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    #: "totp" or "recovery" when accepted
    method: str | None = None
    #: when locked: the longest the user may have to wait, in minutes
    retry_minutes: int = 0

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.ACCEPTED


class CodeChecker:
    def __init__(self, store: Store, config: PocketConfig, enrollments: Enrollments) -> None:
        self.store = store
        self.config = config
        self.params = TotpParams(period=config.period, digits=config.digits, skew=config.skew)
        self.enrollments = enrollments
        #: the time codes are checked against; tests move it
        self.clock: Callable[[], float] = time.time

    # --- throttling
    def _fail_key(self, sub: str) -> str:
        return f"pocket:fail:{sub}"

    def _locked(self) -> Result:
        return Result(Outcome.LOCKED, retry_minutes=-(-self.config.lockout_window // 60))

    def locked(self, sub: str) -> Result | None:
        """Whether the user's codes are refused now (no code is checked by asking)."""
        if self.store.count(self._fail_key(sub)) >= self.config.max_failures:
            return self._locked()
        return None

    def unlock(self, sub: str) -> None:
        self.store.clear(self._fail_key(sub))

    def _checking(self, sub: str, check: Callable[[], tuple[str | None, str]]) -> Result:
        """Run `check` (the accepted method, or None and why not) within the user's
        allowance of failures."""
        key = self._fail_key(sub)
        place = self.store.hit(key, self.config.lockout_window)
        if place > self.config.max_failures:
            self.store.release(key)
            return self._locked()
        method, why = check()
        if method is not None:
            self.unlock(sub)
            return Result(Outcome.ACCEPTED, method)
        log.info("pocket: code refused for %s (%s), failure %d", sub, why, place)
        return self._locked() if place >= self.config.max_failures else Result(Outcome.REFUSED)

    # --- replay
    def claim_step(self, sub: str, secret: str, step: int) -> bool:
        """Atomically use `step` of this user's secret; False if it or a later one was used.

        Each accepted step also claims the earlier steps that the skew window could
        still accept, in increasing order, each with `store.hit` (atomic). So once a step
        is accepted, that step and every earlier one are refused. The key names the
        secret by a digest, so a new app's first code is not refused for the old app's.
        """
        p = self.params
        window = p.period * (2 * p.skew + 2)
        tag = hashlib.sha256(f"{sub}\x00{secret}".encode()).hexdigest()[:16]
        first = 0
        for earlier in range(step - 2 * p.skew, step + 1):
            first = self.store.hit(f"pocket:step:{sub}:{tag}:{earlier}", window)
        return first == 1

    # --- checks
    def check_totp(self, sub: str, secret: str, code: str, now: float | None = None) -> Result:
        """A code from the authenticator app with this secret (used by setup and login)."""
        return self._checking(sub, lambda: self._totp(sub, secret, code, now))

    def _totp(self, sub: str, secret: str, code: str, now: float | None) -> tuple[str | None, str]:
        step = matching_step(secret, code, self.params, self.clock() if now is None else now)
        if step is None:
            return None, "wrong code"
        if not self.claim_step(sub, secret, step):
            return None, "code used before"
        return "totp", ""

    def check_login(self, sub: str, code: str, now: float | None = None) -> Result:
        """The second factor of an enrolled user: an app code or a recovery code."""
        if looks_like_recovery_code(code):
            return self._checking(sub, lambda: self._recovery(sub, code))
        secret = self.enrollments.totp_secret(sub)
        if secret is None:
            return self._checking(sub, lambda: (None, "no authenticator enrolled"))
        return self.check_totp(sub, secret, code, now)

    def _recovery(self, sub: str, code: str) -> tuple[str | None, str]:
        if self.enrollments.recovery.use(sub, code):
            log.info("pocket: recovery code used for %s", sub)
            return "recovery", ""
        return None, "wrong recovery code"
