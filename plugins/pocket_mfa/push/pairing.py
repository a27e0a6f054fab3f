"""Pairing a phone with a user: a one-time code in a QR code, then the phone's public key.

The wizard calls `create_pairing(sub)` and shows the URI as a QR code; the phone posts
the token with its public key (device API POST /pair). Tokens are kept hashed, bound to
the user, and live `pairing_ttl` seconds. The wizard's page learns of the pairing at once
through `wait_for_pairing`.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable

from idp.factors import AuditLog
from idp.store import RecordView, Wakeups, wait
from plugins.pocket_mfa.push.devices import Device, DeviceRegistry
from plugins.pocket_mfa.push.errors import (
    ExpiredPairingToken,
    NotAPairingCodeError,
    UsedPairingToken,
)
from plugins.pocket_mfa.push.protocol import (
    PAIRING_PREFIX,
    NotAPairingCode,
    is_pairing_token,
    pairing_uri,
)

PAIRING_MODEL = "pairing"
#: pairing token hash -> the device it paired, for the waiting wizard page
PAIRED_MODEL = "paired"
#: records outlive their token by this much, so a late use is told "expired", not "unknown"
GRACE = 3600


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class PairingService:
    def __init__(
        self,
        records: RecordView,
        devices: DeviceRegistry,
        issuer: str,
        ttl: int,
        wakeups: Wakeups,
        audit: AuditLog,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.audit = audit
        self.records = records
        self.devices = devices
        self.issuer = issuer
        self.ttl = ttl
        self.wakeups = wakeups
        self.clock = clock

    async def create_pairing(self, sub: str) -> tuple[str, str]:
        """A fresh pairing token for the user and the URI for its QR code."""
        token = PAIRING_PREFIX + secrets.token_urlsafe(24)
        payload = {"sub": sub, "expires_at": self.clock() + self.ttl}
        key = token_hash(token)
        await self.records.upsert(PAIRING_MODEL, key, payload, expires_in=self.ttl + GRACE)
        return token, pairing_uri(self.issuer, token)

    async def pair(
        self, token: str, public_key: dict[str, str], alg: str, name: str, push_address: str = ""
    ) -> Device:
        """Use the token once and keep the device, together; DeviceApiError if it cannot.
        The waiting page is woken once the device is kept."""
        if not is_pairing_token(token):
            raise NotAPairingCodeError(str(NotAPairingCode()))
        key = token_hash(token)
        record = await self.records.find(PAIRING_MODEL, key)
        if record is None:
            raise ExpiredPairingToken("the pairing code is unknown or has expired; scan a new one")
        if record.get("consumed"):
            raise UsedPairingToken("the pairing code was used already; scan a new one")
        if float(record["expires_at"]) < self.clock():
            raise ExpiredPairingToken("the pairing code has expired; scan a new one")
        async with self.records.unit():
            if await self.records.consume(PAIRING_MODEL, key) is None:
                raise UsedPairingToken("the pairing code was used already; scan a new one")
            device = await self.devices.add(record["sub"], name, public_key, alg, push_address)
            paired = {"device_id": device.device_id, "sub": device.sub}
            await self.records.upsert(PAIRED_MODEL, key, paired, expires_in=self.ttl + GRACE)
        await self.wakeups.wake(_topic(key))
        await self.audit.record(
            "device_added", sub=device.sub, device_id=device.device_id, name=device.name
        )
        return device

    async def paired_device(self, token: str) -> Device | None:
        """The device that used this token, once it has."""
        record = await self.records.find(PAIRED_MODEL, token_hash(token))
        return await self.devices.get(record["device_id"]) if record else None

    async def wait_for_pairing(self, token: str, timeout: float) -> Device | None:
        """The paired device as soon as the phone pairs, or None after `timeout` seconds."""
        async with self.wakeups.listen(_topic(token_hash(token))) as paired:
            device = await self.paired_device(token)
            if device is None and await wait(paired, timeout):
                device = await self.paired_device(token)
            return device


def _topic(key: str) -> str:
    return f"pairing:{key}"
