"""Which store a command uses: the one its configuration names, wherever it is run from;
each command that writes says which store it wrote to; and only `idp serve` and
`idp db init` make a new store.

Every command runs as an admin runs it: `idp` in a process of its own, in a working
directory other than the configuration's folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

#: every command that writes to the store, with what it needs to run
WRITING = [
    ("users", "add", "bob", "--password-stdin"),
    ("users", "import", "-"),
    ("users", "set-password", "alice", "--password-stdin"),
    ("users", "reset-mfa", "alice"),
    ("users", "remove", "alice"),
    ("clients", "add", "Wiki", "--redirect-uri", "https://wiki.example/cb"),
    ("clients", "remove", "wiki"),
    ("keys", "rotate"),
]
READING = [
    ("users", "list"),
    ("users", "show", "alice"),
    ("users", "devices", "alice"),
    ("clients", "list"),
    ("keys", "list"),
]


def _stdin(command: tuple[str, ...]) -> str:
    if command[:2] == ("users", "import"):
        return json.dumps({"username": "carol", "password": "long enough"}) + "\n"
    return "long enough\n" if "--password-stdin" in command else ""


def idp(cwd: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """`idp ARGS` run in `cwd`, with none of the caller's IDP_* variables."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    environ["IDP_FACTORS_ENABLED"] = "pocket"
    return subprocess.run(
        [sys.executable, "-m", "idp.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environ,
        timeout=60,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A configuration folder whose file names its store by a relative path."""
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "idp.toml").write_text(
        '[store]\npath = "data/idp.sqlite3"\n[passwords]\ntime_cost = 1\nmemory_cost = 8192\n'
    )
    return folder


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A working directory that is not the configuration's folder."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    return folder


def test_a_relative_store_path_is_taken_from_the_config_files_folder(
    site: Path, elsewhere: Path
) -> None:
    store = site / "data" / "idp.sqlite3"
    ok(idp(elsewhere, "--config", str(site / "idp.toml"), "db", "init"))
    assert store.is_file()
    added = ok(
        idp(
            site.parent,
            "--config",
            "site/idp.toml",
            "users",
            "add",
            "bob",
            stdin="b long password\n",
        )
    )
    assert f"to the sqlite store {store}" in added
    listed = ok(idp(elsewhere, "--config", str(site / "idp.toml"), "users", "list"))
    assert listed.startswith("bob ")
    assert not (elsewhere / "var").exists() and not (elsewhere / "site").exists()
    assert sorted(p.name for p in store.parent.iterdir()) == ["idp.sqlite3"]


def test_every_writing_command_names_the_store_it_wrote_to(site: Path, elsewhere: Path) -> None:
    config = str(site / "idp.toml")
    ok(idp(elsewhere, "--config", config, "db", "init"))
    ok(idp(elsewhere, "--config", config, "users", "add", "alice", stdin="long enough\n"))
    ok(idp(elsewhere, "--config", config, "clients", "add", "Wiki", "--client-id", "wiki",
           "--redirect-uri", "https://wiki.example/cb"))  # fmt: skip
    for command in WRITING:
        said = ok(idp(elsewhere, "--config", config, *command, stdin=_stdin(command)))
        assert f"sqlite store {site / 'data' / 'idp.sqlite3'}" in said, (command, said)


def test_no_command_but_serve_and_db_init_makes_a_new_store(site: Path, elsewhere: Path) -> None:
    store = site / "data" / "idp.sqlite3"
    for command in [*WRITING, *READING]:
        refused = idp(elsewhere, "--config", "../site/idp.toml", *command, stdin=_stdin(command))
        assert refused.returncode == 2, (command, refused.stdout, refused.stderr)
        assert refused.stderr == (
            f"idp: there is no sqlite store at {store} (store.path of ../site/idp.toml);"
            " `idp serve` creates it when it first starts, `idp db init` creates an empty one\n"
        ), command
        assert refused.stdout == ""
    assert sorted(p.name for p in site.iterdir()) == ["idp.toml"]
    assert list(elsewhere.iterdir()) == []
    # without a config file the store is var/idp.sqlite3 in the working directory
    refused = idp(elsewhere, "users", "add", "bob", stdin="long enough\n")
    assert refused.returncode == 2
    assert f"{elsewhere / 'var' / 'idp.sqlite3'} (no config file: give --config FILE)" in (
        refused.stderr
    )
    assert list(elsewhere.iterdir()) == []
    ok(idp(elsewhere, "--config", "../site/idp.toml", "db", "init"))
    again = idp(elsewhere, "--config", "../site/idp.toml", "db", "init")
    assert (again.returncode, again.stderr) == (1, f"idp: there is a store at {store} already\n")


def test_a_postgresql_store_is_named_without_its_password(
    postgres_url: str, elsewhere: Path
) -> None:
    scheme, rest = postgres_url.split("://", 1)
    user, host = rest.split("@", 1)
    with_password = f"{scheme}://{user}:s3cret@{host}"  # trust authentication ignores it
    config = elsewhere / "idp.toml"
    config.write_text(f'[store]\nurl = "{with_password}"\n')
    said = ok(idp(elsewhere, "--config", "idp.toml", "users", "add", "bob", stdin="long enough\n"))
    assert f"to the PostgreSQL store {postgres_url}\n" in said
    assert "s3cret" not in said
