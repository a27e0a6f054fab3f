"""`idp store copy`: an installation moved to a new store, with nothing lost, logs in there."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from idp.app import create_app
from idp.cli import main
from tests.conftest import ISSUER, RP, query_of
from tests.plugins.pocket_mfa.conftest import (
    Clock,
    PocketEnv,
    enroll,
    pocket_settings,
    start,
    verify,
)


@pytest.fixture
def encryption_key(monkeypatch: pytest.MonkeyPatch) -> str:
    """One key for the source and the target: a shared store needs it configured."""
    key = base64.urlsafe_b64encode(os.urandom(32)).decode()
    monkeypatch.setenv("IDP_POCKET_ENCRYPTION_KEY", key)
    return key


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new store of each kind to copy into."""
    if request.param == "postgresql":
        yield request.getfixturevalue("postgres_url")
    else:
        yield f"sqlite:{tmp_path / 'target' / 'idp.sqlite3'}"


def _pocket_env(settings: object) -> Iterator[PocketEnv]:
    app = create_app(settings)  # type: ignore[arg-type]
    with TestClient(app, base_url=ISSUER, follow_redirects=False) as client:
        env = PocketEnv(app, client, settings, Clock())  # type: ignore[arg-type]
        env.plugin.services.checker.clock = env.clock
        yield env


def test_a_copied_installation_logs_in_with_its_user_client_and_app(
    tmp_path: Path, target: str, encryption_key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    source_settings = pocket_settings(tmp_path / "source")
    for env in _pocket_env(source_settings):
        env.add_client(mfa="required")
        env.add_user()
        enrolled = enroll(env, start(env))
        assert "code" in enrolled.rp_query
    source = f"sqlite:{source_settings.store.path}"

    assert main(["store", "copy", "--from", source, "--to", target]) == 0
    out = capsys.readouterr().out
    assert "every count matches" in out
    assert "users" in out and "records pocket-totp" in out

    where = (
        {"IDP_STORE_PATH": target.removeprefix("sqlite:")}
        if target.startswith("sqlite:")
        else {"IDP_STORE_URL": target}
    )
    target_settings = pocket_settings(tmp_path / "target", **where)
    for env in _pocket_env(target_settings):
        env.clock.advance(60)  # a new code: the one used to enroll is spent
        response = verify(env, start(env), env.code(enrolled.secret))
        assert response.status_code == 303, response.text
        assert response.headers["location"].startswith(RP)
        assert "code" in query_of(response.headers["location"])


def test_a_store_that_is_not_empty_is_refused(
    tmp_path: Path, target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    source = f"sqlite:{tmp_path / 'source.sqlite3'}"
    assert main(["store", "copy", "--from", source, "--to", target]) == 1
    assert "there is no sqlite store at" in capsys.readouterr().err
    for env in _pocket_env(pocket_settings(tmp_path / "source")):
        env.add_user()
    source = f"sqlite:{tmp_path / 'source' / 'idp.sqlite3'}"
    assert main(["store", "copy", "--from", source, "--to", target]) == 0
    capsys.readouterr()
    assert main(["store", "copy", "--from", source, "--to", target]) == 1
    assert "is not empty; copy only into a new store" in capsys.readouterr().err


def test_a_store_address_that_names_no_store_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["store", "copy", "--from", "mysql://x", "--to", "sqlite:/tmp/x"]) == 1
    assert "names no store: use sqlite:PATH or postgresql://" in capsys.readouterr().err
