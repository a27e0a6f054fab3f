"""Paired Pocket devices: a user may have several; only their public keys are kept."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from idp.store import Store
from idp.store.base import JSON

DEVICE_MODEL = "pocket-device"
#: "<sub>:<device id>" -> {}, so a user's devices are found by prefix
USER_INDEX = "pocket-user-device"


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
    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock

    def add(
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
        self.store.upsert(DEVICE_MODEL, device.device_id, asdict(device))
        self.store.upsert(USER_INDEX, f"{sub}:{device.device_id}", {})
        return device

    def get(self, device_id: str) -> Device | None:
        record = self.store.find(DEVICE_MODEL, device_id)
        if record is None:
            return None
        record.pop("consumed", None)
        return Device(**record)

    def list(self, sub: str) -> list[Device]:
        found = []
        for key, _ in self.store.find_by_prefix(USER_INDEX, f"{sub}:"):
            device = self.get(key.rsplit(":", 1)[1])
            if device is not None and device.sub == sub:
                found.append(device)
        return sorted(found, key=lambda d: (d.paired_at, d.device_id))

    def touch(self, device: Device) -> Device:
        """Note that the device was just used."""
        used = Device(**{**asdict(device), "last_used": int(self.clock())})
        if self.store.find(USER_INDEX, f"{device.sub}:{device.device_id}") is not None:
            self.store.upsert(DEVICE_MODEL, device.device_id, asdict(used))
        return used

    def remove(self, sub: str, device_id: str) -> bool:
        """Unpair one of the user's devices; False if it is not theirs."""
        device = self.get(device_id)
        if device is None or device.sub != sub:
            return False
        self.store.destroy(USER_INDEX, f"{sub}:{device_id}")
        self.store.destroy(DEVICE_MODEL, device_id)
        return True

    def reset(self, sub: str) -> int:
        """Unpair all of the user's devices (the admin reset); returns how many."""
        removed = 0
        for key, _ in self.store.find_by_prefix(USER_INDEX, f"{sub}:"):
            device_id = key.rsplit(":", 1)[1]
            self.store.destroy(USER_INDEX, key)
            self.store.destroy(DEVICE_MODEL, device_id)
            removed += 1
        return removed
