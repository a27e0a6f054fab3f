"""The `idp` command, called as a user would, with a config file of its own."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from idp.cli import main
from idp.passwords import Passwords
from idp.settings import load_settings
from tests.conftest import open_blocking


@pytest.fixture
def config(tmp_path: Path) -> str:
    """A config file whose store `idp db init` has made."""
    path = tmp_path / "idp.toml"
    path.write_text(
        f'[store]\npath = "{tmp_path / "cli.sqlite3"}"\n'
        "[passwords]\ntime_cost = 1\nmemory_cost = 8192\n"
    )
    assert main(["--config", str(path), "db", "init"]) == 0
    return str(path)


def run(
    config: str, *args: str, stdin: str = "", monkeypatch: pytest.MonkeyPatch | None = None
) -> int:
    assert monkeypatch is not None
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(["--config", config, *args])


def test_user_lifecycle(
    config: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        run(
            config,
            "users",
            "add",
            "carol",
            "--name",
            "Carol",
            "--email",
            "c@example.org",
            stdin="first password\n",
            monkeypatch=monkeypatch,
        )
        == 0
    )
    assert "added user carol" in capsys.readouterr().out
    assert run(config, "users", "list", "--json", monkeypatch=monkeypatch) == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert listed["username"] == "carol" and listed["email"] == "c@example.org"
    assert "first password" not in json.dumps(listed)

    assert (
        run(
            config,
            "users",
            "set-password",
            "carol",
            stdin="second password\n",
            monkeypatch=monkeypatch,
        )
        == 0
    )
    settings = load_settings(config, environ={})
    user = open_blocking(settings.store).find_user("carol")
    assert user is not None
    assert Passwords(settings.passwords).verify(user.password_hash, "second password")
    assert not Passwords(settings.passwords).verify(user.password_hash, "first password")

    assert run(config, "users", "remove", "carol", monkeypatch=monkeypatch) == 0
    assert run(config, "users", "show", "carol", monkeypatch=monkeypatch) == 1
    assert "no user named 'carol'" in capsys.readouterr().err


def test_passwords_are_never_taken_from_the_command_line(
    config: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(SystemExit):
        run(config, "users", "add", "dave", "--password", "x", monkeypatch=monkeypatch)


def test_short_password_and_duplicate_user_are_refused(
    config: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(config, "users", "add", "erin", stdin="short\n", monkeypatch=monkeypatch) == 1
    assert "at least 8 characters" in capsys.readouterr().err
    assert run(config, "users", "add", "erin", stdin="long enough\n", monkeypatch=monkeypatch) == 0
    assert run(config, "users", "add", "erin", stdin="long enough\n", monkeypatch=monkeypatch) == 1
    assert "exists already" in capsys.readouterr().err


def test_client_secret_is_shown_once_and_stored_hashed(
    config: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        run(
            config,
            "clients",
            "add",
            "Wiki",
            "--redirect-uri",
            "https://wiki/cb",
            "--json",
            monkeypatch=monkeypatch,
        )
        == 0
    )
    shown = json.loads(capsys.readouterr().out)
    assert len(shown["client_secret"]) >= 32
    assert run(config, "clients", "list", monkeypatch=monkeypatch) == 0
    listing = capsys.readouterr().out
    assert shown["client_id"] in listing and "mfa=required" in listing
    assert shown["client_secret"] not in listing
    raw = (Path(config).parent / "cli.sqlite3").read_bytes()
    assert shown["client_secret"].encode() not in raw


def test_public_and_service_clients(
    config: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        run(
            config,
            "clients",
            "add",
            "App",
            "--public",
            "--redirect-uri",
            "app://cb",
            "--mfa",
            "optional",
            "--json",
            monkeypatch=monkeypatch,
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["client_secret"] is None
    assert (
        run(
            config,
            "clients",
            "add",
            "Bad",
            "--public",
            "--grant",
            "client_credentials",
            monkeypatch=monkeypatch,
        )
        == 1
    )
    assert "cannot use client_credentials" in capsys.readouterr().err
    assert (
        run(
            config,
            "clients",
            "add",
            "Nightly job",
            "--grant",
            "client_credentials",
            "--client-id",
            "job",
            monkeypatch=monkeypatch,
        )
        == 0
    )
    capsys.readouterr()
    assert run(config, "clients", "list", "--json", monkeypatch=monkeypatch) == 0
    clients = {c["client_id"]: c for c in json.loads(capsys.readouterr().out)}
    assert clients["job"]["grant_types"] == ["client_credentials"]
    assert run(config, "clients", "remove", "job", monkeypatch=monkeypatch) == 0
    assert run(config, "clients", "remove", "job", monkeypatch=monkeypatch) == 1


def test_keys_rotate_keeps_the_old_key_published(
    config: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(config, "keys", "list", monkeypatch=monkeypatch) == 0
    assert "no signing keys yet" in capsys.readouterr().out
    assert run(config, "keys", "rotate", monkeypatch=monkeypatch) == 0  # the first keys
    capsys.readouterr()
    assert run(config, "keys", "list", monkeypatch=monkeypatch) == 0
    before = capsys.readouterr().out.split()
    assert run(config, "keys", "rotate", "--alg", "RS256", monkeypatch=monkeypatch) == 0
    assert "new active RS256 key" in capsys.readouterr().out
    assert run(config, "keys", "list", monkeypatch=monkeypatch) == 0
    after = capsys.readouterr().out
    old_rsa = before[before.index("RS256") - 1]
    assert f"{old_rsa}  RS256  published until" in after
    assert after.count("active") == 2  # the new RS256 key and the untouched ES256 key


def test_a_bad_config_stops_with_one_line_naming_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[server]\nport = 'eighty'\n")
    assert run(str(path), "users", "list", monkeypatch=monkeypatch) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "server.port" in err[0]


@pytest.fixture
def idp_logger_restored() -> Iterator[None]:
    """`idp serve` sets up the process's logging; the `idp` logger is put back after."""
    logger = logging.getLogger("idp")
    handlers, level, propagate = list(logger.handlers), logger.level, logger.propagate
    yield
    logger.handlers[:] = handlers
    logger.setLevel(level)
    logger.propagate = propagate


@pytest.mark.usefixtures("idp_logger_restored")
def test_serve_tunes_the_process_and_runs_uvicorn_with_the_gathering_protocol(
    config: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gc
    import sys

    import uvicorn

    from idp.cli.serve import GC_YOUNG_THRESHOLD
    from idp.http_protocol import GatheringHttpToolsProtocol

    calls: list[dict[str, object]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: calls.append(options))
    thresholds, interval = gc.get_threshold(), sys.getswitchinterval()
    try:
        assert run(config, "serve", "--port", "8123", monkeypatch=monkeypatch) == 0
        frozen = gc.get_freeze_count()
        assert gc.get_threshold()[0] == GC_YOUNG_THRESHOLD
        assert sys.getswitchinterval() == pytest.approx(0.0005)
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
        sys.setswitchinterval(interval)
    assert frozen > 10_000  # what the loaded app holds, never walked again
    [options] = calls
    assert options["port"] == 8123 and options["http"] is GatheringHttpToolsProtocol
    assert options["proxy_headers"] is False  # no proxy is trusted unless configured


@pytest.mark.usefixtures("idp_logger_restored")
def test_serve_trusts_the_configured_proxies_alone(
    config: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import uvicorn

    calls: list[tuple[object, dict[str, object]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: calls.append((app, options)))
    monkeypatch.setattr("idp.cli.serve.tune_for_serving", lambda: None)
    monkeypatch.setenv("IDP_SERVER_FORWARDED_ALLOW_IPS", "10.0.0.5, 10.1.0.0/16")
    with caplog.at_level(logging.INFO, logger="idp"):
        assert run(config, "serve", monkeypatch=monkeypatch) == 0

    [(app, options)] = calls
    # the app applies X-Forwarded-* itself, where it still sees which proxy connected
    assert options["proxy_headers"] is False
    trusted = app.outermost.trusted  # type: ignore[attr-defined]
    assert "10.0.0.5" in trusted and "10.1.2.3" in trusted and "10.2.0.1" not in trusted
    assert "trusted from 10.0.0.5, 10.1.0.0/16" in caplog.text


def test_serve_refuses_several_workers_on_the_sqlite_file(
    config: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda app, **options: pytest.fail("served"))
    assert run(config, "serve", "--workers", "2", monkeypatch=monkeypatch) == 1
    err = capsys.readouterr().err
    assert "--workers 2 needs a store that several processes can share" in err
    assert "Traceback" not in err


def test_serve_refuses_an_unknown_log_level(
    config: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit:
        run(config, "serve", "--log-level", "loud", monkeypatch=monkeypatch)
    assert exit.value.code == 2
    assert "invalid choice: 'loud'" in capsys.readouterr().err


def test_serve_refuses_a_port_that_is_the_management_port(
    config: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda app, **options: pytest.fail("served"))
    monkeypatch.setenv("IDP_SERVER_MANAGEMENT_PORT", "9000")
    assert run(config, "serve", "--port", "9000", monkeypatch=monkeypatch) == 1
    err = capsys.readouterr().err
    assert "--port 9000 is the management port (server.management_port)" in err


def test_resetting_a_second_factor_makes_no_keys_no_client_and_no_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A command administers the store: it sets up the plugins without building the
    provider, and makes nothing a server would (signing keys, the account client, the
    Pocket key file)."""
    folder = tmp_path / "site"
    folder.mkdir()
    path = folder / "idp.toml"
    path.write_text(
        f'[store]\npath = "{folder / "cli.sqlite3"}"\n[factors]\nenabled = ["pocket"]\n'
        "[passwords]\ntime_cost = 1\nmemory_cost = 8192\n"
    )
    config = str(path)
    assert main(["--config", config, "db", "init"]) == 0
    assert run(config, "users", "add", "al", stdin="long enough\n", monkeypatch=monkeypatch) == 0

    def no_provider(*args: object, **kwargs: object) -> None:
        raise AssertionError("a command built the provider")

    monkeypatch.setattr("idp.provider.Provider.__init__", no_provider)
    assert run(config, "users", "reset-mfa", "al", monkeypatch=monkeypatch) == 0
    assert "removed 0 second-factor item(s) of al" in capsys.readouterr().out
    assert sorted(p.name for p in folder.iterdir()) == ["cli.sqlite3", "idp.toml"]
    store = open_blocking(load_settings(config).store)
    assert store.list_keys() == [] and store.list_clients() == []


def test_a_client_added_without_remembered_browsers_or_postponement(
    config: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    added = run(
        config,
        "clients",
        "add",
        "Admin tool",
        "--redirect-uri",
        "https://admin.test/cb",
        "--no-remember-browser",
        "--no-postpone-enrollment",
        monkeypatch=monkeypatch,
    )
    assert added == 0
    capsys.readouterr()
    assert run(config, "clients", "list", "--json", monkeypatch=monkeypatch) == 0
    [client] = [c for c in json.loads(capsys.readouterr().out) if c["name"] == "Admin tool"]
    assert client["remember_browser"] is False and client["postpone_enrollment"] is False


def test_users_add_json_prints_the_user_as_users_show_does(
    config: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("users", "add", "sanne", "--name", "Sanne Visser", "--json")
    assert run(config, *args, stdin="een lang wachtwoord\n", monkeypatch=monkeypatch) == 0
    added = json.loads(capsys.readouterr().out)
    assert run(config, "users", "show", "sanne", monkeypatch=monkeypatch) == 0
    assert added == json.loads(capsys.readouterr().out)
    assert added["name"] == "Sanne Visser" and added["second_factors"] == []
