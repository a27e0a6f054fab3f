"""Push challenges: created for a login, answered by a paired device, awaited by the page.

A challenge is single use and expires after `challenge_ttl` seconds. Its outcome is
kept as its own record; `wait_for_answer` is woken the moment it is written, whichever
thread wrote it (see waiters.py).
"""

from __future__ import annotations

import random
import secrets
import time
from collections.abc import Callable, Sequence

from idp.offload import run_sync
from idp.store import Store
from plugins.pocket_mfa.push.audit import Audit
from plugins.pocket_mfa.push.challenge import Challenge, Outcome, PushContext
from plugins.pocket_mfa.push.config import PushConfig
from plugins.pocket_mfa.push.delivery import Notifier
from plugins.pocket_mfa.push.devices import DeviceRegistry
from plugins.pocket_mfa.push.errors import NoDeviceError, PushLimitError, UnknownChallenge
from plugins.pocket_mfa.push.protocol import MAX_WAIT
from plugins.pocket_mfa.push.waiters import Waiters, wait

CHALLENGE_MODEL = "pocket-challenge"
#: "<sub>:<challenge id>" -> {} while the challenge is open, for the device's long-poll
OUTCOME_MODEL = "pocket-outcome"
LIMIT_COUNTER = "pocket-push"
#: challenge and outcome records outlive the challenge by this much, to tell "late"
GRACE = 3600


class ChallengeService:
    def __init__(
        self,
        store: Store,
        devices: DeviceRegistry,
        config: PushConfig,
        waiters: Waiters,
        audit: Audit,
        notifiers: Sequence[Notifier] = (),
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self.store = store
        self.devices = devices
        self.config = config
        self.waiters = waiters
        self.audit = audit
        self.notifiers = list(notifiers)
        self.clock = clock
        self.rng = rng or secrets.SystemRandom()

    # --- creating
    async def create(self, sub: str, context: PushContext) -> Challenge:
        """A new challenge for the user's devices; PushLimitError or NoDeviceError if not."""
        challenge = await run_sync(self.open, sub, context)
        devices = await run_sync(self.devices.list, sub)
        for device in devices:
            for notifier in self.notifiers:
                notifier.notify(device, challenge)
        return challenge

    def open(self, sub: str, context: PushContext) -> Challenge:
        """Blocking: keep a new challenge and wake the long-polls (no webhook)."""
        cfg = self.config
        if self.store.hit(f"{LIMIT_COUNTER}:{sub}", cfg.push_window) > cfg.push_limit:
            self.audit.record("push_limit", sub=sub, client_name=context.client_name, ip=context.ip)
            raise PushLimitError(cfg.push_limit, cfg.push_window)
        if not self.devices.list(sub):
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
        )
        self.store.upsert(
            CHALLENGE_MODEL,
            challenge.id,
            challenge.payload(),
            expires_in=cfg.challenge_ttl + GRACE,
            sub=sub,
        )
        self.waiters.notify(_user_topic(sub))
        return challenge

    # --- reading
    def get(self, challenge_id: str) -> Challenge | None:
        """Blocking: the challenge, open or not; None if unknown."""
        record = self.store.find(CHALLENGE_MODEL, challenge_id)
        return Challenge.from_payload(record) if record else None

    def is_open(self, challenge_id: str) -> bool:
        record = self.store.find(CHALLENGE_MODEL, challenge_id)
        return bool(record) and not record.get("consumed") and record["expires_at"] > self.clock()

    def pending(self, sub: str) -> list[Challenge]:
        """Blocking: the user's challenges that can still be answered, oldest first."""
        now = self.clock()
        found = [
            Challenge.from_payload(record)
            for _, record in self.store.find_by_sub(CHALLENGE_MODEL, sub)
            if not record.get("consumed") and record["expires_at"] > now
        ]
        return sorted(found, key=lambda c: (c.created_at, c.id))

    def outcome(self, challenge_id: str) -> Outcome:
        """Blocking: how the challenge ended, or PENDING; an expired one is closed here."""
        record = self.store.find(OUTCOME_MODEL, challenge_id)
        if record is not None:
            return Outcome(record["outcome"])
        challenge = self.get(challenge_id)
        if challenge is None:
            raise UnknownChallenge(f"no challenge {challenge_id!r}")
        if challenge.expires_at > self.clock():
            return Outcome.PENDING
        if self.store.consume(CHALLENGE_MODEL, challenge_id) is not None:
            self.decide(challenge, Outcome.EXPIRED)
        found = self.store.find(OUTCOME_MODEL, challenge_id)
        return Outcome(found["outcome"]) if found else Outcome.EXPIRED

    def decide(self, challenge: Challenge, outcome: Outcome, device_id: str | None = None) -> None:
        """Blocking: write the outcome of a consumed challenge and wake whoever waits."""
        payload = {"outcome": outcome.value, "device_id": device_id, "at": self.clock()}
        ttl = self.config.challenge_ttl + GRACE
        self.store.upsert(OUTCOME_MODEL, challenge.id, payload, expires_in=ttl)
        self.waiters.notify(_challenge_topic(challenge.id))

    # --- waiting
    async def wait_for_answer(self, challenge_id: str, timeout: float) -> Outcome:
        """The outcome as soon as there is one; PENDING if `timeout` ends first."""
        async with self.waiters.listen(_challenge_topic(challenge_id)) as answered:
            outcome = await run_sync(self.outcome, challenge_id)
            if outcome.final:
                return outcome
            challenge = await run_sync(self.get, challenge_id)
            assert challenge is not None
            left = challenge.expires_at - self.clock()
            await wait(answered, min(timeout, max(left, 0) + 0.05))
            return await run_sync(self.outcome, challenge_id)

    async def wait_for_challenges(self, sub: str, timeout: float) -> list[Challenge]:
        """The user's open challenges; waits up to `timeout` (capped) for one if none."""
        timeout = max(0.0, min(float(timeout), MAX_WAIT))
        async with self.waiters.listen(_user_topic(sub)) as created:
            found = await run_sync(self.pending, sub)
            if found or timeout == 0:
                return found
            if await wait(created, timeout):
                return await run_sync(self.pending, sub)
            return []

    async def aclose(self) -> None:
        for notifier in self.notifiers:
            await notifier.aclose()


def _user_topic(sub: str) -> str:
    return f"challenges:{sub}"


def _challenge_topic(challenge_id: str) -> str:
    return f"answer:{challenge_id}"
