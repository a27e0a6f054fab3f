"""Pocket push, assembled: what the device API and the plugin's pages share."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from idp.store import Store
from plugins.pocket_mfa.push.answers import AnswerChecker
from plugins.pocket_mfa.push.audit import Audit
from plugins.pocket_mfa.push.challenges import ChallengeService
from plugins.pocket_mfa.push.config import PushConfig
from plugins.pocket_mfa.push.delivery import Notifier
from plugins.pocket_mfa.push.device_tokens import DeviceTokens
from plugins.pocket_mfa.push.devices import DeviceRegistry
from plugins.pocket_mfa.push.pairing import PairingService
from plugins.pocket_mfa.push.waiters import Waiters
from plugins.pocket_mfa.push.webhook import WebhookNotifier


@dataclass(frozen=True)
class PushService:
    store: Store
    issuer: str
    config: PushConfig
    audit: Audit
    devices: DeviceRegistry
    pairing: PairingService
    challenges: ChallengeService
    answers: AnswerChecker
    tokens: DeviceTokens

    @classmethod
    def build(
        cls,
        store: Store,
        issuer: str,
        config: PushConfig | None = None,
        notifiers: Sequence[Notifier] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> PushService:
        """Everything for one provider; a webhook notifier when config names a relay."""
        config = config or PushConfig()
        if notifiers is None:
            notifiers = []
            if config.webhook_url:
                notifiers.append(WebhookNotifier(config.webhook_url, config.webhook_secret))
        waiters = Waiters()
        audit = Audit(store, config.audit_retention, clock)
        devices = DeviceRegistry(store, clock)
        challenges = ChallengeService(store, devices, config, waiters, audit, notifiers, clock)
        return cls(
            store=store,
            issuer=issuer,
            config=config,
            audit=audit,
            devices=devices,
            pairing=PairingService(store, devices, issuer, config.pairing_ttl, waiters, clock),
            challenges=challenges,
            answers=AnswerChecker(challenges),
            tokens=DeviceTokens(store, devices, issuer, clock),
        )

    def username(self, sub: str) -> str:
        """Blocking: the account name the phone shows after pairing."""
        user = self.store.get_user(sub)
        return user.username if user else ""

    async def aclose(self) -> None:
        await self.challenges.aclose()
