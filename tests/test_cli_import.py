"""`idp users import`: many accounts from JSON Lines, all of them or none."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from idp.passwords import Passwords
from idp.settings import load_settings
from tests.conftest import open_blocking

from .test_cli import config, run  # noqa: F401  (the fixture)


def _lines(*entries: object) -> str:
    return "".join(json.dumps(e) + "\n" for e in entries)


def test_users_are_imported_with_hashed_passwords(
    config: str,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    users_file = tmp_path / "users.jsonl"
    users_file.write_text(
        _lines(
            {"username": "ann", "password": "ann's password", "name": "Ann", "locale": "nl"},
            {"username": "ben", "password": "ben's password", "email": "ben@example.org",
             "email_verified": True},
        )
        + "\n"  # a blank line is skipped
    )  # fmt: skip

    assert run(config, "users", "import", str(users_file), monkeypatch=monkeypatch) == 0

    assert "imported 2 user(s)" in capsys.readouterr().out
    settings = load_settings(config, environ={})
    store = open_blocking(settings.store)
    ann, ben = store.find_user("ann"), store.find_user("ben")
    assert ann is not None and ben is not None
    assert (ann.name, ann.locale, ben.email, ben.email_verified) == (
        "Ann", "nl", "ben@example.org", True,
    )  # fmt: skip
    passwords = Passwords(settings.passwords)
    assert passwords.verify(ann.password_hash, "ann's password")
    assert passwords.verify(ben.password_hash, "ben's password")
    assert "ann's password" not in ann.password_hash
    assert ann.sub != ben.sub


def test_import_reads_standard_input(
    config: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    stdin = _lines({"username": "cas", "password": "cas password"})
    assert run(config, "users", "import", "-", stdin=stdin, monkeypatch=monkeypatch) == 0
    assert "imported 1 user(s)" in capsys.readouterr().out


VALID = _lines({"username": "first", "password": "long enough"})


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (VALID + "not json\n", "line 2: not JSON"),
        (VALID + _lines(["a list"]), "line 2: expected a JSON object"),
        (VALID + _lines({"username": "x", "password": "short"}), 'line 2: "password" must be'),
        (VALID + _lines({"password": "long enough"}), 'line 2: "username" must be'),
        (
            VALID + _lines({"username": "x", "password": "long enough", "admin": True}),
            "line 2: unknown field(s) admin",
        ),
        (
            VALID + _lines({"username": "x", "password": "long enough", "email": 5}),
            "line 2: 'email' must be a string",
        ),
        (VALID + VALID, "line 2: 'first' was given on line 1"),
    ],
)
def test_a_file_with_a_mistake_adds_nobody(
    config: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    content: str,
    message: str,
) -> None:
    assert run(config, "users", "import", "-", stdin=content, monkeypatch=monkeypatch) == 1

    assert message in capsys.readouterr().err
    settings = load_settings(config, environ={})
    assert open_blocking(settings.store).list_users() == []


def test_an_existing_username_adds_nobody(
    config: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run(config, "users", "add", "taken", stdin="long enough\n", monkeypatch=monkeypatch) == 0
    stdin = VALID + _lines({"username": "taken", "password": "long enough"})

    assert run(config, "users", "import", "-", stdin=stdin, monkeypatch=monkeypatch) == 1

    assert "1 user(s) exist already: 'taken'; nothing was imported" in capsys.readouterr().err
    settings = load_settings(config, environ={})
    assert [u.username for u in open_blocking(settings.store).list_users()] == ["taken"]


def test_an_unreadable_file_is_named(
    config: str,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    missing = tmp_path / "nowhere.jsonl"
    assert run(config, "users", "import", str(missing), monkeypatch=monkeypatch) == 1
    assert f"cannot read {missing}: No such file or directory" in capsys.readouterr().err
