"""The plugin's parts, built once at start-up and shared by its pages."""

from __future__ import annotations

from dataclasses import dataclass

from idp.factors import FactorHost
from idp.store import Store
from plugins.pocket_mfa.checker import CodeChecker
from plugins.pocket_mfa.config import PocketConfig
from plugins.pocket_mfa.enrollments import Enrollments
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

    @property
    def store(self) -> Store:
        return self.host.store

    @property
    def params(self) -> TotpParams:
        return self.checker.params

    @property
    def recovery(self) -> RecoveryCodes:
        return self.enrollments.recovery

    @classmethod
    def build(cls, host: FactorHost, config: PocketConfig, key: bytes) -> Services:
        box = SecretBox(key)
        enrollments = Enrollments(host.store, box, RecoveryCodes(host.store, key))
        return cls(
            host=host,
            config=config,
            box=box,
            enrollments=enrollments,
            setups=Setups(host.store, box, config.setup_ttl),
            checker=CodeChecker(host.store, config, enrollments),
        )
