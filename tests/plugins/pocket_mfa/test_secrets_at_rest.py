"""TOTP secrets are sealed with a key from configuration; the database alone reveals none."""

from __future__ import annotations

import base64
import logging
import os
import stat
from pathlib import Path

import pytest

from plugins.pocket_mfa.config import KEY_FILE, PocketConfig, load_config, resolve_key
from plugins.pocket_mfa.errors import PocketConfigError, SecretUnreadable
from plugins.pocket_mfa.secrets_at_rest import SecretBox
from tests.plugins.pocket_mfa.conftest import PocketEnv, enroll, start


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_sealed_secrets_open_only_for_their_user_and_key() -> None:
    key = os.urandom(32)
    sealed = SecretBox(key).seal("JBSWY3DPEHPK3PXP", "alice")
    assert "JBSWY3DPEHPK3PXP" not in sealed
    assert sealed.count(".") == 4  # compact JWE
    assert SecretBox(key).open(sealed, "alice") == "JBSWY3DPEHPK3PXP"
    with pytest.raises(SecretUnreadable):
        SecretBox(key).open(sealed, "mallory")
    with pytest.raises(SecretUnreadable):
        SecretBox(os.urandom(32)).open(sealed, "alice")


def test_the_sqlite_file_does_not_hold_the_secret(pocket: PocketEnv, tmp_path: Path) -> None:
    enrolled = enroll(pocket, start(pocket))
    pocket.store.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("idp.sqlite3*"))
    assert b"pocket-totp:" in raw  # the enrollment is there ...
    secret = enrolled.secret.encode()
    assert secret not in raw  # ... but not its secret, in base32
    assert secret.lower() not in raw
    assert base64.b32decode(enrolled.secret) not in raw  # nor as raw bytes
    for code in enrolled.codes:
        assert code.encode() not in raw


def test_a_generated_key_file_is_private_and_reused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "data"
    with caplog.at_level(logging.WARNING, logger="idp.pocket"):
        key = resolve_key(PocketConfig(), folder, environ={})
    assert len(key) == 32
    path = tmp_path / "data" / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "encryption_key" in caplog.text
    assert resolve_key(PocketConfig(), folder, environ={}) == key
    assert sorted(p.name for p in folder.iterdir()) == [KEY_FILE]  # no draft left behind


def test_a_process_that_loses_the_race_for_the_key_file_uses_the_winners_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two processes starting on one folder both find no key file; the second to write must
    not fail, and must not make a key of its own."""
    folder = tmp_path / "data"
    winner = resolve_key(PocketConfig(), folder, environ={})
    monkeypatch.setattr(Path, "exists", lambda self: False)  # it looked before the winner wrote
    assert resolve_key(PocketConfig(), folder, environ={}) == winner
    assert sorted(p.name for p in folder.iterdir()) == [KEY_FILE]


def test_the_key_comes_from_config_then_environment(tmp_path: Path) -> None:
    from_config, from_env = os.urandom(32), os.urandom(32)
    environ = {"IDP_POCKET_ENCRYPTION_KEY": b64(from_env)}
    config = load_config({"encryption_key": b64(from_config)})
    for folder in (tmp_path, None):  # the embedded store's folder, or a shared store
        assert resolve_key(config, folder, environ) == from_config
        assert resolve_key(PocketConfig(), folder, environ) == from_env
    assert not (tmp_path / KEY_FILE).exists()


@pytest.mark.parametrize(
    ("table", "named"),
    [
        ({"encryption_key": b64(os.urandom(16))}, "plugins.pocket.encryption_key"),
        ({"encryption_key": "not base64 !"}, "plugins.pocket.encryption_key"),
        ({"digits": 9}, "plugins.pocket.digits"),
        ({"max_failures": "five"}, "plugins.pocket.max_failures"),
        ({"colour": "blue"}, "plugins.pocket.colour"),
    ],
)
def test_bad_configuration_fails_naming_the_key(table: dict[str, object], named: str) -> None:
    with pytest.raises(PocketConfigError, match=named):
        load_config(table)


def test_a_bad_key_in_the_environment_fails_naming_it(tmp_path: Path) -> None:
    with pytest.raises(PocketConfigError, match="IDP_POCKET_ENCRYPTION_KEY"):
        resolve_key(PocketConfig(), tmp_path, {"IDP_POCKET_ENCRYPTION_KEY": "abc"})


def test_a_shared_store_needs_a_configured_key(tmp_path: Path) -> None:
    with pytest.raises(PocketConfigError, match="IDP_POCKET_ENCRYPTION_KEY") as refused:
        resolve_key(PocketConfig(), None, environ={})
    assert "shared by several processes" in str(refused.value)
    assert not (tmp_path / KEY_FILE).exists()
