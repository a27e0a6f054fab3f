"""The plugin's parts, built once at start-up and shared by its pages."""

from __future__ import annotations

from dataclasses import dataclass

from idp.factors import FactorHost
from idp.store import Store
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
    config: PocketConfig
    box: SecretBox
    enrollments: Enrollments
    setups: Setups
    checker: CodeChecker
    push: PushService
    pairings: Pairings

    @property
    def store(self) -> Store:
        return self.host.store

    @property
    def params(self) -> TotpParams:
        return self.checker.params

    @property
    def recovery(self) -> RecoveryCodes:
        return self.enrollments.recovery

    def has_devices(self, sub: str) -> bool:
        """Blocking: whether the user has a paired Pocket device."""
        return bool(self.push.devices.list(sub))

    def has_factor(self, sub: str) -> bool:
        """Blocking: an authenticator app or a Pocket device (recovery codes alone are not)."""
        return self.enrollments.has_totp(sub) or self.has_devices(sub)

    def has_code(self, sub: str) -> bool:
        """Blocking: can the user type a code instead (app code or a recovery code left)?"""
        return self.enrollments.has_totp(sub) or self.recovery.remaining(sub)[0] > 0

    @classmethod
    def build(cls, host: FactorHost, config: PocketConfig, key: bytes) -> Services:
        box = SecretBox(key)
        enrollments = Enrollments(host.store, box, RecoveryCodes(host.store, key))
        push = PushService.build(host.store, host.settings.issuer, config.push)
        return cls(
            host=host,
            config=config,
            box=box,
            enrollments=enrollments,
            setups=Setups(host.store, box, config.setup_ttl),
            checker=CodeChecker(host.store, config, enrollments),
            push=push,
            pairings=Pairings(host.store, box, push.pairing),
        )
