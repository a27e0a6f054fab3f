"""Why a passkey was refused: one message for the user, the detail for the log."""

from __future__ import annotations

from idp.factors import ConfigError


class PasskeyRefused(Exception):
    """A ceremony failed. `reason` names its message (`passkeys.error.<reason>`)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class PasskeysConfigError(ConfigError):
    """A bad [plugins.passkeys] setting."""
