"""How a new challenge reaches a phone besides the long-poll, which always works."""

from __future__ import annotations

from typing import Protocol

from plugins.pocket_mfa.push.challenge import Challenge
from plugins.pocket_mfa.push.devices import Device


class Notifier(Protocol):
    def notify(self, device: Device, challenge: Challenge) -> None:
        """Start delivering to the device; called on the event loop, must not block."""
        ...

    async def aclose(self) -> None:
        """Finish or cancel deliveries still under way (at shutdown)."""
        ...
