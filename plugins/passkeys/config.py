"""The plugin's settings: [plugins.passkeys] in the configuration file."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from plugins.passkeys.errors import PasskeysConfigError


@dataclass(frozen=True)
class PasskeysConfig:
    #: the name the browser shows for this relying party
    rp_name: str = "Pocket IdP"
    #: seconds a challenge may be answered in (and the browser's own timeout)
    challenge_ttl: int = 300


def load_config(table: Mapping[str, Any]) -> PasskeysConfig:
    """The settings, every problem named at once."""
    problems = [f"plugins.passkeys.{key}: unknown setting" for key in table if key not in _KEYS]
    rp_name = table.get("rp_name", PasskeysConfig.rp_name)
    if not isinstance(rp_name, str) or not rp_name.strip():
        problems.append("plugins.passkeys.rp_name: expected a name")
    ttl = table.get("challenge_ttl", PasskeysConfig.challenge_ttl)
    if not isinstance(ttl, int) or isinstance(ttl, bool) or not 30 <= ttl <= 3600:
        problems.append("plugins.passkeys.challenge_ttl: expected seconds from 30 to 3600")
    if problems:
        raise PasskeysConfigError("; ".join(problems))
    return PasskeysConfig(rp_name=rp_name, challenge_ttl=ttl)


_KEYS = {"rp_name", "challenge_ttl"}
