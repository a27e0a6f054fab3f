"""The [plugins.pocket] table: typed, with every default here, checked as a whole.

The TOTP values are RFC 6238's defaults (section 4 and 5.2), which every common
authenticator app supports.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from plugins.pocket_mfa.errors import PocketConfigError
from plugins.pocket_mfa.push.config import PushConfig

log = logging.getLogger("idp.pocket")

KEY_ENV = "IDP_POCKET_ENCRYPTION_KEY"
KEY_FILE = "pocket-encryption.key"
WEBHOOK_SECRET_ENV = "IDP_POCKET_WEBHOOK_SECRET"


@dataclass(frozen=True)
class PocketConfig:
    #: shown in authenticator apps beside the account name
    issuer_name: str = "Pocket IdP"
    #: RFC 6238 time step in seconds, and code length
    period: int = 30
    digits: int = 6
    #: steps of clock skew accepted either way (RFC 6238 section 6)
    skew: int = 1
    #: wrong codes per user within `lockout_window` seconds before codes are refused
    max_failures: int = 5
    lockout_window: int = 15 * 60
    #: how many recovery codes one enrollment gets
    recovery_codes: int = 10
    #: how long an unconfirmed authenticator setup stays valid, in seconds
    setup_ttl: int = 30 * 60
    #: base64url of 32 bytes; or env IDP_POCKET_ENCRYPTION_KEY; or a generated key file
    encryption_key: str = ""
    #: where the wizard's install page sends people for the Pocket app (https; empty: no
    #: link); the stores' own pages until a deployment names its app's listing
    app_store_url: str = "https://www.apple.com/app-store/"
    play_store_url: str = "https://play.google.com/store/apps"
    #: [plugins.pocket.push]: pairing, push challenges, number matching, the webhook relay
    push: PushConfig = field(default_factory=PushConfig)


#: links to the Pocket app in the stores
_STORE_URLS = ("app_store_url", "play_store_url")
_INTS = (
    "period",
    "digits",
    "skew",
    "max_failures",
    "lockout_window",
    "recovery_codes",
    "setup_ttl",
)


def load_config(table: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> PocketConfig:
    """Check the whole table and fail with one line per problem, each naming the key."""
    environ = os.environ if environ is None else environ
    known = PocketConfig.__dataclass_fields__
    problems = [f"plugins.pocket.{key}: unknown setting" for key in table if key not in known]
    values: dict[str, Any] = {}
    push_table = table.get("push", {})
    if not isinstance(push_table, Mapping):
        problems.append("plugins.pocket.push: expected a table ([plugins.pocket.push])")
        push_table = {}
    values["push"] = _push_config(push_table, environ, problems)
    for key, value in table.items():
        if key not in known or key == "push":
            continue
        want_int = key in _INTS
        ok = (
            isinstance(value, int) and not isinstance(value, bool)
            if want_int
            else isinstance(value, str)
        )
        if not ok:
            kind = "a whole number" if want_int else "a string"
            problems.append(f"plugins.pocket.{key}: expected {kind}, got {value!r}")
        else:
            values[key] = value
    config = PocketConfig(**values)
    if config.digits not in (6, 7, 8):
        problems.append("plugins.pocket.digits: must be 6, 7 or 8")
    if config.period < 15 or config.skew not in (0, 1, 2):
        problems.append("plugins.pocket: period must be >= 15 and skew 0, 1 or 2")
    for key in ("max_failures", "lockout_window", "recovery_codes", "setup_ttl"):
        if getattr(config, key) < 1:
            problems.append(f"plugins.pocket.{key}: must be positive")
    if config.encryption_key:
        _check_key(config.encryption_key, "plugins.pocket.encryption_key", problems)
    for key in _STORE_URLS:
        url = getattr(config, key)
        if url and not url.startswith("https://"):
            problems.append(f"plugins.pocket.{key}: must be an https:// URL, or empty for no link")
    if problems:
        raise PocketConfigError("; ".join(problems))
    return config


_PUSH_INTS = ("pairing_ttl", "challenge_ttl", "push_limit", "push_window", "audit_retention")


def _push_config(
    table: Mapping[str, Any], environ: Mapping[str, str], problems: list[str]
) -> PushConfig:
    """[plugins.pocket.push]; the webhook secret may come from IDP_POCKET_WEBHOOK_SECRET."""
    where = "plugins.pocket.push"
    known = {f.name for f in fields(PushConfig)}
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in known:
            problems.append(f"{where}.{key}: unknown setting")
        elif key in _PUSH_INTS:
            if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
                values[key] = value
            else:
                problems.append(f"{where}.{key}: expected a positive whole number, got {value!r}")
        elif key == "number_matching":
            if isinstance(value, bool):
                values[key] = value
            else:
                problems.append(f"{where}.{key}: expected true or false, got {value!r}")
        elif isinstance(value, str):
            values[key] = value
        else:
            problems.append(f"{where}.{key}: expected a string, got {value!r}")
    if not values.get("webhook_secret") and environ.get(WEBHOOK_SECRET_ENV):
        values["webhook_secret"] = environ[WEBHOOK_SECRET_ENV]
    url = values.get("webhook_url", "")
    if url and not url.startswith(("https://", "http://")):
        problems.append(f"{where}.webhook_url: must be an http(s) URL")
    if url and not values.get("webhook_secret"):
        problems.append(
            f"{where}.webhook_secret: required with webhook_url (or {WEBHOOK_SECRET_ENV})"
        )
        values.pop("webhook_url")
    try:
        return PushConfig(**values)
    except PocketConfigError as e:  # pragma: no cover - every case is caught above
        problems.append(str(e))
        return PushConfig()


def decode_key(text: str) -> bytes:
    return base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))


def _check_key(text: str, where: str, problems: list[str]) -> None:
    try:
        raw = decode_key(text)
    except (binascii.Error, ValueError):
        problems.append(f"{where}: not base64url")
        return
    if len(raw) != 32:
        problems.append(f"{where}: must be 32 bytes (base64url), got {len(raw)}")


def resolve_key(
    config: PocketConfig,
    local_folder: Path | None,
    environ: Mapping[str, str] | None = None,
    *,
    create: bool = True,
) -> bytes:
    """The key that encrypts TOTP secrets: config, then env, then a file in the embedded
    store's folder (made there if missing, unless not `create`). A store that several
    processes share has no such folder: the key must then be configured, or each process
    would make its own. Without `create` (a host that seals nothing), a key is never
    missing: one kept nowhere will do."""
    environ = os.environ if environ is None else environ
    problems: list[str] = []
    for text, where in (
        (config.encryption_key, "plugins.pocket.encryption_key"),
        (environ.get(KEY_ENV, ""), KEY_ENV),
    ):
        if text:
            _check_key(text, where, problems)
            if problems:
                raise PocketConfigError("; ".join(problems))
            return decode_key(text)
    if local_folder is None:
        if not create:
            # a host that serves nothing seals nothing (the `idp` command): no key is needed
            return secrets.token_bytes(32)
        raise PocketConfigError(
            "plugins.pocket.encryption_key: the store is shared by several processes, so the"
            f" key that encrypts TOTP secrets must be configured: set it there or in {KEY_ENV}"
            " (32 random bytes in base64url, as config/idp.toml shows how to make)"
        )
    path = local_folder / KEY_FILE
    if not create and not path.exists():
        # nothing was sealed without the file, and a host that serves nothing seals
        # nothing: a key kept nowhere will do
        return secrets.token_bytes(32)
    return _key_file(path)


def _key_file(path: Path) -> bytes:
    if path.exists():
        return _read_key_file(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    # Written whole under a private name, then linked into place: a process starting at
    # the same moment either wins the link or reads the winner's complete key.
    draft = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(draft, path)
        except FileExistsError:
            return _read_key_file(path)
    finally:
        draft.unlink(missing_ok=True)
    log.warning(
        "pocket: no encryption_key configured; generated %s. Keep it with the database "
        "backups (without it enrolled authenticator apps stop working), or set "
        "[plugins.pocket] encryption_key / %s.",
        path,
        KEY_ENV,
    )
    return decode_key(text)


def _read_key_file(path: Path) -> bytes:
    text = path.read_text().strip()
    problems: list[str] = []
    _check_key(text, str(path), problems)
    if problems:
        raise PocketConfigError("; ".join(problems))
    return decode_key(text)
