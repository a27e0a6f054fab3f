"""Pocket push, assembled: what the device API and the plugin's pages share."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from idp.factors import AuditLog, FactorMetrics
from idp.store import RecordView, User
from plugins.pocket_mfa.push.answers import AnswerChecker
from plugins.pocket_mfa.push.challenges import ChallengeService
from plugins.pocket_mfa.push.config import PushConfig
from plugins.pocket_mfa.push.delivery import Notifier
from plugins.pocket_mfa.push.device_tokens import DeviceTokens
from plugins.pocket_mfa.push.devices import DeviceRegistry
from plugins.pocket_mfa.push.pairing import PairingService
from plugins.pocket_mfa.push.webhook import WebhookNotifier


class Accounts(Protocol):
    """Where the users are: the plugin's host, or a store in tests."""

    async def get_user(self, sub: str) -> User | None: ...


@dataclass(frozen=True)
class PushService:
    records: RecordView
    accounts: Accounts
    issuer: str
    config: PushConfig
    audit: AuditLog
    devices: DeviceRegistry
    pairing: PairingService
    challenges: ChallengeService
    answers: AnswerChecker
    tokens: DeviceTokens

    @classmethod
    def build(
        cls,
        records: RecordView,
        accounts: Accounts,
        issuer: str,
        audit: AuditLog,
        config: PushConfig | None = None,
        notifiers: Sequence[Notifier] | None = None,
        clock: Callable[[], float] = time.time,
        metrics: FactorMetrics | None = None,
    ) -> PushService:
        """Everything for one provider; a webhook notifier when config names a relay.
        Its events go to `audit`, the host's audit trail (FactorHost.audit)."""
        config = config or PushConfig()
        if notifiers is None:
            notifiers = []
            if config.webhook_url:
                notifiers.append(WebhookNotifier(config.webhook_url, config.webhook_secret))
        devices = DeviceRegistry(records, clock)
        challenges = ChallengeService(
            records, devices, config, records.wakeups, audit, notifiers, clock, metrics=metrics
        )
        return cls(
            records=records,
            accounts=accounts,
            issuer=issuer,
            config=config,
            audit=audit,
            devices=devices,
            pairing=PairingService(
                records, devices, issuer, config.pairing_ttl, records.wakeups, audit, clock
            ),
            challenges=challenges,
            answers=AnswerChecker(challenges),
            tokens=DeviceTokens(records, devices, issuer, clock),
        )

    async def username(self, sub: str) -> str:
        """The account name the phone shows after pairing."""
        user = await self.accounts.get_user(sub)
        return user.username if user else ""

    async def aclose(self) -> None:
        await self.challenges.aclose()
