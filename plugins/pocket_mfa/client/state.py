"""The device's state file: its id, issuer, API base and private key, readable by its
owner only (0600)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ENV = "POCKET_STATE"
DEFAULT = Path("~/.config/pocket/state.json")


class StateError(Exception):
    """No usable state file: not paired yet, or unreadable."""


@dataclass(frozen=True)
class DeviceState:
    device_id: str
    issuer: str
    base_url: str
    account: str
    name: str
    #: the private JWK (JSON object) and its algorithm
    private_key: dict[str, Any]
    alg: str


def state_path(given: str | None) -> Path:
    return Path(given or os.environ.get(ENV) or DEFAULT).expanduser()


def load(path: Path) -> DeviceState:
    try:
        data = json.loads(path.read_text())
        return DeviceState(**data)
    except FileNotFoundError:
        raise StateError(f"{path}: not paired yet; run `pocket pair URI`") from None
    except (ValueError, TypeError) as e:
        raise StateError(f"{path}: unreadable state file ({e})") from None


def save(path: Path, state: DeviceState) -> None:
    """Write atomically, 0600 from the first byte."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(asdict(state), fh, indent=2)
        fh.write("\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def remove(path: Path) -> None:
    path.unlink(missing_ok=True)
