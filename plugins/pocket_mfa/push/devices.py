"""Paired Pocket devices: a user may have several; only their public keys are kept."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from idp.store import JSON, RecordView

#: a device record is indexed by its user (RecordView.find_by_sub)
DEVICE_MODEL = "device"
#: `last_used` is kept to the minute: a device that polls and answers writes it at most
#: once a minute, not on every request
LAST_USED_STEP = 60


@dataclass(frozen=True)
class Device:
    device_id: str
    sub: str
    name: str
    #: the public JWK and its algorithm (ES256 or EdDSA)
    public_key: dict[str, str]
    alg: str
    paired_at: int
    last_used: int
    #: where the partner's relay reaches the phone (an APNs/FCM token); may be empty
    push_address: str = ""

    def info(self) -> JSON:
        """What the device API and account pages show."""
        return {
            "device_id": self.device_id,
            "name": self.name,
            "paired_at": self.paired_at,
            "last_used": self.last_used,
        }

    # idp.factors.EnrolledMethod
    @property
    def kind(self) -> str:
        return "pocket"

    @property
    def label(self) -> str:
        return self.name

    @property
    def created_at(self) -> int:
        return self.paired_at


class DeviceRegistry:
    def __init__(self, records: RecordView, clock: Callable[[], float] = time.time) -> None:
        self.records = records
        self.clock = clock

    async def add(
        self,
        sub: str,
        name: str,
        public_key: dict[str, str],
        alg: str,
        push_address: str = "",
    ) -> Device:
        now = int(self.clock())
        device = Device(
            device_id="dev_" + secrets.token_urlsafe(16),
            sub=sub,
            name=name,
            public_key=public_key,
            alg=alg,
            paired_at=now,
            last_used=now,
            push_address=push_address,
        )
        await self.records.upsert(DEVICE_MODEL, device.device_id, asdict(device), sub=sub)
        return device

    async def get(self, device_id: str) -> Device | None:
        record = await self.records.find(DEVICE_MODEL, device_id)
        return None if record is None else _device(record)

    async def list(self, sub: str) -> list[Device]:
        found = [_device(record) for _, record in await self.records.find_by_sub(DEVICE_MODEL, sub)]
        return sorted(found, key=lambda d: (d.paired_at, d.device_id))

    async def touch(self, device: Device) -> Device:
        """Note that the device was just used (to the minute)."""
        now = int(self.clock())
        if now - device.last_used < LAST_USED_STEP:
            return device
        used = Device(**{**asdict(device), "last_used": now})
        if await self.records.find(DEVICE_MODEL, device.device_id) is not None:
            await self.records.upsert(DEVICE_MODEL, device.device_id, asdict(used), sub=device.sub)
        return used

    async def remove(self, sub: str, device_id: str) -> bool:
        """Unpair one of the user's devices; False if it is not theirs."""
        device = await self.get(device_id)
        if device is None or device.sub != sub:
            return False
        await self.records.destroy(DEVICE_MODEL, device_id)
        return True

    async def reset(self, sub: str) -> int:
        """Unpair all of the user's devices (the admin reset), together; returns how many."""
        found = await self.records.find_by_sub(DEVICE_MODEL, sub)
        async with self.records.unit():
            for device_id, _ in found:
                await self.records.destroy(DEVICE_MODEL, device_id)
        return len(found)


def _device(record: JSON) -> Device:
    record.pop("consumed", None)
    return Device(**record)
