"""Push challenges: created for a login, answered by a paired device, awaited by the page.

A challenge is single use and expires after `challenge_ttl` seconds. Closing it (`settle`)
consumes it and keeps its outcome as its own record, together; `wait_for_answer` is
woken the moment that has landed, whichever process of those that share the store wrote
it (see idp.store.wakeups). A challenge that nobody waits for any more (its login was
stopped, finished with a code, or sent anew) is withdrawn: the phone no longer lists it.

The push limit counts what signals push bombing: each push takes its place in the count
when it is sent (one atomic `hit`, so pushes sent at once never pass the limit), and an
approval gives that place back (`release`). Unanswered, withdrawn, denied and
wrong-number pushes keep theirs until the window ends.
"""

from __future__ import annotations

import random
import secrets
import time
from collections.abc import Callable, Sequence

from idp.factors import AuditLog, FactorMetrics
from idp.store import RecordView, Wakeups, wait
from plugins.pocket_mfa.push.challenge import Challenge, Outcome, PushContext
from plugins.pocket_mfa.push.config import PushConfig
from plugins.pocket_mfa.push.delivery import Notifier
from plugins.pocket_mfa.push.devices import DeviceRegistry
from plugins.pocket_mfa.push.errors import NoDeviceError, PushLimitError, UnknownChallenge
from plugins.pocket_mfa.push.protocol import MAX_WAIT
from plugins.pocket_mfa.uncounted import Uncounted

CHALLENGE_MODEL = "challenge"
#: challenge id -> how it ended (outcome, device id, when)
OUTCOME_MODEL = "outcome"
LIMIT_COUNTER = "push"
#: challenge and outcome records outlive the challenge by this much, to tell "late"
GRACE = 3600


class ChallengeService:
    def __init__(
        self,
        records: RecordView,
        devices: DeviceRegistry,
        config: PushConfig,
        wakeups: Wakeups,
        audit: AuditLog,
        notifiers: Sequence[Notifier] = (),
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        metrics: FactorMetrics | None = None,
    ) -> None:
        self.records = records
        self.devices = devices
        self.config = config
        self.wakeups = wakeups
        self.audit = audit
        self.notifiers = list(notifiers)
        self.clock = clock
        self.rng = rng or secrets.SystemRandom()
        #: push limits refused, answer times (idp.metrics)
        self.metrics = metrics or Uncounted()

    # --- creating
    async def create(
        self, sub: str, context: PushContext, login_id: str | None = None
    ) -> Challenge:
        """A new challenge for the user's devices; PushLimitError or NoDeviceError if not."""
        challenge = await self.open(sub, context, login_id)
        for device in await self.devices.list(sub):
            for notifier in self.notifiers:
                notifier.notify(device, challenge)
        return challenge

    async def open(self, sub: str, context: PushContext, login_id: str | None = None) -> Challenge:
        """Keep a new challenge and wake the long-polls (no webhook)."""
        cfg = self.config
        limit_key = _limit_key(sub)
        if await self.records.hit(limit_key, cfg.push_window) > cfg.push_limit:
            await self.records.release(limit_key)
            self.metrics.refused("push_limit")
            await self.audit.record(
                "push_limit",
                outcome="failure",
                sub=sub,
                client_name=context.client_name,
                ip=context.ip,
            )
            raise PushLimitError(cfg.push_limit, cfg.push_window)
        if not await self.devices.list(sub):
            await self.records.release(limit_key)
            raise NoDeviceError("the user has no paired Pocket device")
        now = int(self.clock())
        number = self.rng.randint(10, 99)
        numbers = None
        if cfg.number_matching:
            others = self.rng.sample([n for n in range(10, 100) if n != number], 2)
            numbers = [number, *others]
            self.rng.shuffle(numbers)
        challenge = Challenge(
            id="ch_" + secrets.token_urlsafe(16),
            sub=sub,
            client_name=context.client_name,
            ip=context.ip,
            browser=context.browser,
            location=context.location,
            created_at=now,
            expires_at=now + cfg.challenge_ttl,
            number=number,
            numbers=numbers,
            login_id=login_id,
        )
        await self.records.upsert(
            CHALLENGE_MODEL,
            challenge.id,
            challenge.payload(),
            expires_in=cfg.challenge_ttl + GRACE,
            sub=sub,
        )
        await self.wakeups.wake(_user_topic(sub))
        await self.audited("push_sent", challenge)
        return challenge

    # --- reading
    async def get(self, challenge_id: str) -> Challenge | None:
        """The challenge, open or not; None if unknown."""
        record = await self.records.find(CHALLENGE_MODEL, challenge_id)
        return Challenge.from_payload(record) if record else None

    async def find_open(self, challenge_id: str) -> tuple[Challenge | None, bool]:
        """The challenge (None if unknown), and whether it can still be answered."""
        record = await self.records.find(CHALLENGE_MODEL, challenge_id)
        if not record:
            return None, False
        is_open = not record.get("consumed") and record["expires_at"] > self.clock()
        return Challenge.from_payload(record), is_open

    async def pending(self, sub: str) -> list[Challenge]:
        """The user's challenges that can still be answered, oldest first."""
        now = self.clock()
        found = [
            Challenge.from_payload(record)
            for _, record in await self.records.find_by_sub(CHALLENGE_MODEL, sub)
            if not record.get("consumed") and record["expires_at"] > now
        ]
        return sorted(found, key=lambda c: (c.created_at, c.id))

    async def outcome(self, challenge_id: str) -> Outcome:
        """How the challenge ended, or PENDING; an expired one is closed here."""
        record = await self.records.find(OUTCOME_MODEL, challenge_id)
        if record is not None:
            return Outcome(record["outcome"])
        challenge = await self.get(challenge_id)
        if challenge is None:
            raise UnknownChallenge(f"no challenge {challenge_id!r}")
        if challenge.expires_at > self.clock():
            return Outcome.PENDING
        await self.expire(challenge)
        found = await self.records.find(OUTCOME_MODEL, challenge_id)
        return Outcome(found["outcome"]) if found else Outcome.EXPIRED

    # --- closing
    async def settle(
        self, challenge: Challenge, outcome: Outcome, device_id: str | None = None
    ) -> bool:
        """Consume the challenge and keep its outcome, together; False (and nothing
        written) if it was closed already. Whoever waits is woken once it has landed, so
        it must not run inside a unit of work of the caller's."""
        payload = {"outcome": outcome.value, "device_id": device_id, "at": self.clock()}
        ttl = self.config.challenge_ttl + GRACE
        async with self.records.unit():
            if await self.records.consume(CHALLENGE_MODEL, challenge.id) is None:
                return False
            await self.records.upsert(OUTCOME_MODEL, challenge.id, payload, expires_in=ttl)
            if outcome is Outcome.APPROVED:
                # an approval is no sign of push bombing: its place in the limit is free
                await self.records.release(_limit_key(challenge.sub))
        await self.wakeups.wake(_challenge_topic(challenge.id))
        return True

    async def audited(
        self,
        event: str,
        challenge: Challenge,
        outcome: str = "success",
        *,
        device_id: str | None = None,
        reason: str | None = None,
    ) -> None:
        """An audit event of the challenge, with its user, client and address."""
        await self.audit.record(
            event,
            outcome=outcome,
            sub=challenge.sub,
            challenge_id=challenge.id,
            client_name=challenge.client_name,
            ip=challenge.ip,
            device_id=device_id,
            reason=reason,
        )

    async def expire(self, challenge: Challenge, device_id: str | None = None) -> bool:
        """Close a challenge whose time is up, and audit it; False if it was closed
        already."""
        if not await self.settle(challenge, Outcome.EXPIRED, device_id):
            return False
        await self.audited(Outcome.EXPIRED.value, challenge, "failure", device_id=device_id)
        return True

    async def withdraw(self, challenge: Challenge, reason: str) -> bool:
        """Close an open challenge that nobody waits for any more, and audit it; an
        answer to it is then refused as no longer valid. False if it was closed already."""
        if challenge.expires_at <= self.clock():
            await self.outcome(challenge.id)  # expired: closed as such
            return False
        if not await self.settle(challenge, Outcome.WITHDRAWN):
            return False
        await self.audited(Outcome.WITHDRAWN.value, challenge, "failure", reason=reason)
        return True

    async def withdraw_for_login(
        self, sub: str, login_id: str, reason: str, keep: str | None = None
    ) -> int:
        """Withdraw the open challenges sent for this login, but `keep`; how many."""
        withdrawn = 0
        for challenge in await self.pending(sub):
            if challenge.login_id == login_id and challenge.id != keep:
                withdrawn += await self.withdraw(challenge, reason)
        return withdrawn

    # --- waiting
    async def wait_for_answer(self, challenge_id: str, timeout: float) -> Outcome:
        """The outcome as soon as there is one; PENDING if `timeout` ends first."""
        async with self.wakeups.listen(_challenge_topic(challenge_id)) as answered:
            outcome = await self.outcome(challenge_id)
            if outcome.final:
                return outcome
            challenge = await self.get(challenge_id)
            assert challenge is not None
            left = challenge.expires_at - self.clock()
            await wait(answered, min(timeout, max(left, 0) + 0.05))
            return await self.outcome(challenge_id)

    async def wait_for_challenges(self, sub: str, timeout: float) -> list[Challenge]:
        """The user's open challenges; waits up to `timeout` (capped) for one if none."""
        timeout = max(0.0, min(float(timeout), MAX_WAIT))
        async with self.wakeups.listen(_user_topic(sub)) as created:
            found = await self.pending(sub)
            if found or timeout == 0:
                return found
            if await wait(created, timeout):
                return await self.pending(sub)
            return []

    async def aclose(self) -> None:
        for notifier in self.notifiers:
            await notifier.aclose()


def _limit_key(sub: str) -> str:
    return f"{LIMIT_COUNTER}:{sub}"


def _user_topic(sub: str) -> str:
    return f"challenges:{sub}"


def _challenge_topic(challenge_id: str) -> str:
    return f"answer:{challenge_id}"
