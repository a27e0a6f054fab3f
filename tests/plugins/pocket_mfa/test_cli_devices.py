"""`idp users devices USER`: the phones a user has paired, as an admin sees them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from idp.cli import main
from tests.conftest import ISSUER
from tests.plugins.pocket_mfa.conftest import PocketEnv, paired_phone


def idp(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(list(args)) == 0
    return capsys.readouterr().out


def test_users_devices_lists_the_paired_phones(
    pocket: PocketEnv,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("IDP_SERVER_ISSUER", ISSUER)
    monkeypatch.setenv("IDP_STORE_PATH", str(tmp_path / "idp.sqlite3"))
    monkeypatch.setenv("IDP_FACTORS_ENABLED", "pocket")
    assert "alice has no paired or remembered devices" in idp(capsys, "users", "devices", "alice")
    paired_phone(pocket, name="Pixel 8")
    paired_phone(pocket, name="iPhone 15")
    user = pocket.store.find_user("alice")
    pocket.run(pocket.plugin.services.recovery.issue, user.sub, 10)
    shown = json.loads(idp(capsys, "users", "devices", "alice", "--json"))
    assert sorted(d["name"] for d in shown) == ["Pixel 8", "iPhone 15"]
    assert all(d["plugin"] == "pocket" and d["last_used"] != "-" for d in shown)
    text = idp(capsys, "users", "devices", "alice")
    assert "Pixel 8" in text and "iPhone 15" in text and "recovery" not in text
    kinds = [m["kind"] for m in json.loads(idp(capsys, "users", "show", "alice"))["second_factors"]]
    assert kinds == ["pocket", "pocket", "recovery codes"]
