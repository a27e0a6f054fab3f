"""Checking a user's code: throttling, RFC 6238 verification, replay refusal, recovery codes.

Every failure looks the same to the user ("that code is not right"); the reason goes to
the log and to the per-user failure counter, which lives in the store and so survives
a restart. After `max_failures` wrong codes within `lockout_window` seconds, codes are
refused (even correct ones) until the window has passed.

A check takes its place in the count (atomically, `RecordView.hit`) before the code is
looked at: however many arrive at once, no more than `max_failures` are checked. A
check refused there gives its place back; an accepted code clears the count.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum

from idp.factors import FactorMetrics
from idp.store import RecordView
from plugins.pocket_mfa.config import PocketConfig
from plugins.pocket_mfa.enrollments import Enrollments
from plugins.pocket_mfa.recovery import looks_like_recovery_code
from plugins.pocket_mfa.totp import TotpParams, matching_step
from plugins.pocket_mfa.uncounted import Uncounted

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


#: the accepted method, or None and why not
Verdict = tuple[str | None, str]


class CodeChecker:
    def __init__(
        self,
        records: RecordView,
        config: PocketConfig,
        enrollments: Enrollments,
        metrics: FactorMetrics | None = None,
    ) -> None:
        self.records = records
        self.metrics = metrics or Uncounted()
        self.config = config
        self.params = TotpParams(period=config.period, digits=config.digits, skew=config.skew)
        self.enrollments = enrollments
        #: the time codes are checked against; tests move it
        self.clock: Callable[[], float] = time.time

    # --- throttling
    def _fail_key(self, sub: str) -> str:
        return f"fail:{sub}"

    def _locked(self) -> Result:
        return Result(Outcome.LOCKED, retry_minutes=-(-self.config.lockout_window // 60))

    async def locked(self, sub: str) -> Result | None:
        """Whether the user's codes are refused now (no code is checked by asking)."""
        if await self.records.count(self._fail_key(sub)) >= self.config.max_failures:
            return self._locked()
        return None

    async def unlock(self, sub: str) -> None:
        await self.records.clear(self._fail_key(sub))

    async def _checking(self, sub: str, check: Callable[[], Awaitable[Verdict]]) -> Result:
        """Run `check` within the user's allowance of failures."""
        key = self._fail_key(sub)
        place = await self.records.hit(key, self.config.lockout_window)
        if place > self.config.max_failures:
            await self.records.release(key)
            self.metrics.refused("code_attempts")
            return self._locked()
        method, why = await check()
        if method is not None:
            await self.unlock(sub)
            return Result(Outcome.ACCEPTED, method)
        log.info("pocket: code refused for %s (%s), failure %d", sub, why, place)
        return self._locked() if place >= self.config.max_failures else Result(Outcome.REFUSED)

    # --- replay
    async def claim_step(self, sub: str, secret: str, step: int) -> bool:
        """Atomically use `step` of this user's secret; False if it or a later one was used.

        Each accepted step also claims the earlier steps that the skew window could
        still accept, in increasing order, each with `hit` (atomic). So once a step is
        accepted, that step and every earlier one are refused. The key names the secret
        by a digest, so a new app's first code is not refused for the old app's.
        """
        p = self.params
        window = p.period * (2 * p.skew + 2)
        tag = hashlib.sha256(f"{sub}\x00{secret}".encode()).hexdigest()[:16]
        first = 0
        for earlier in range(step - 2 * p.skew, step + 1):
            first = await self.records.hit(f"step:{sub}:{tag}:{earlier}", window)
        return first == 1

    # --- checks
    async def check_totp(
        self, sub: str, secret: str, code: str, now: float | None = None
    ) -> Result:
        """A code from the authenticator app with this secret (used by setup and login)."""
        return await self._checking(sub, lambda: self._totp(sub, secret, code, now))

    async def _totp(self, sub: str, secret: str, code: str, now: float | None) -> Verdict:
        step = matching_step(secret, code, self.params, self.clock() if now is None else now)
        if step is None:
            return None, "wrong code"
        if not await self.claim_step(sub, secret, step):
            return None, "code used before"
        return "totp", ""

    async def check_login(self, sub: str, code: str, now: float | None = None) -> Result:
        """The second factor of an enrolled user: an app code or a recovery code."""
        if looks_like_recovery_code(code):
            return await self._checking(sub, lambda: self._recovery(sub, code))
        secret = await self.enrollments.totp_secret(sub)
        if secret is None:
            return await self._checking(sub, _no_authenticator)
        return await self.check_totp(sub, secret, code, now)

    async def _recovery(self, sub: str, code: str) -> Verdict:
        if await self.enrollments.recovery.use(sub, code):
            log.info("pocket: recovery code used for %s", sub)
            return "recovery", ""
        return None, "wrong recovery code"


async def _no_authenticator() -> Verdict:
    return None, "no authenticator enrolled"
