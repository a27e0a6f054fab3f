"""The plugin's parts, built once at start-up and shared by its pages."""

from __future__ import annotations

from dataclasses import dataclass

from idp.factors import FactorHost
from idp.store import RecordView
from plugins.pocket_mfa.checker import CodeChecker
from plugins.pocket_mfa.config import PocketConfig
from plugins.pocket_mfa.enrollments import Enrollments
from plugins.pocket_mfa.pairings import Pairings
from plugins.pocket_mfa.push.service import PushService
from plugins.pocket_mfa.recovery import RecoveryCodes
from plugins.pocket_mfa.secrets_at_rest import SecretBox
from plugins.pocket_mfa.setups import Setups
from plugins.pocket_mfa.totp import TotpParams


@dataclass(frozen=True)
class Services:
    host: FactorHost
    #: the plugin's own records, under its name
    records: RecordView
    config: PocketConfig
    box: SecretBox
    enrollments: Enrollments
    setups: Setups
    checker: CodeChecker
    push: PushService
    pairings: Pairings

    @property
    def params(self) -> TotpParams:
        return self.checker.params

    @property
    def recovery(self) -> RecoveryCodes:
        return self.enrollments.recovery

    async def has_devices(self, sub: str) -> bool:
        """Whether the user has a paired Pocket device."""
        return bool(await self.push.devices.list(sub))

    async def has_factor(self, sub: str) -> bool:
        """An authenticator app or a Pocket device (recovery codes alone are not)."""
        return await self.enrollments.has_totp(sub) or await self.has_devices(sub)

    async def has_code(self, sub: str) -> bool:
        """Can the user type a code instead (app code or a recovery code left)?"""
        if await self.enrollments.has_totp(sub):
            return True
        left, _ = await self.recovery.remaining(sub)
        return left > 0

    @classmethod
    def build(cls, host: FactorHost, namespace: str, config: PocketConfig, key: bytes) -> Services:
        """The parts, keeping their records under `namespace` (the plugin's name)."""
        records = host.records(namespace)
        box = SecretBox(key)
        enrollments = Enrollments(records, box, RecoveryCodes(records, key))
        push = PushService.build(
            records, host, host.settings.issuer, host.audit, config.push, metrics=host.metrics
        )
        return cls(
            host=host,
            records=records,
            config=config,
            box=box,
            enrollments=enrollments,
            setups=Setups(records, box, config.setup_ttl),
            checker=CodeChecker(records, config, enrollments, host.metrics),
            push=push,
            pairings=Pairings(records, box, push.pairing),
        )
