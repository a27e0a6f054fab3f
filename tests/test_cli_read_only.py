"""Commands that only read leave the sqlite store's files as they found them, byte for
byte: the database, its WAL and index, and the files kept beside them (the Pocket key).

Each runs as an admin runs it, `idp` in a process of its own, against a store in three
states: one that a server closed cleanly, one that a killed server left with its WAL and
the WAL's index, and one that no server has opened."""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import httpx
from starlette.testclient import TestClient

from idp.app import create_app
from idp.cli.main import build_parser
from plugins.pocket_mfa.plugin import PocketFactor
from tests.conftest import ISSUER
from tests.plugins.pocket_mfa.conftest import Clock, PocketEnv, paired_phone, pocket_settings
from tests.servers.idp_nodes import IdpNode, idp_environ, run_idp

#: every command that only reads, as (command, action)
READING = {
    ("users", "list"),
    ("users", "show"),
    ("users", "devices"),
    ("clients", "list"),
    ("keys", "list"),
}
#: every command that writes: to the store, or (store copy) to a new one
WRITING = {
    ("serve", None),
    ("users", "add"),
    ("users", "import"),
    ("users", "set-password"),
    ("users", "reset-mfa"),
    ("users", "remove"),
    ("clients", "add"),
    ("clients", "remove"),
    ("keys", "rotate"),
    ("db", "init"),
    ("db", "upgrade"),
    ("store", "copy"),
}


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def test_every_command_is_known_to_read_or_to_write() -> None:
    found = set()
    for command, parser in _subcommands(build_parser()).items():
        actions = _subcommands(parser)
        found |= {(command, action) for action in actions} or {(command, None)}
    assert found == READING | WRITING
    assert not READING & WRITING


def _reading_commands(store: Path, copies: Path) -> list[tuple[str, ...]]:
    """Each command of READING once (with what it shows checked by the caller), and the
    source of a store copy, which is only read."""
    return [
        ("users", "list", "--json"),
        ("users", "show", "alice"),
        ("users", "devices", "alice"),
        ("clients", "list"),
        ("keys", "list"),
        ("store", "copy", "--from", f"sqlite:{store}", "--to", f"sqlite:{copies / 'copy.db'}"),
    ]


def _files(folder: Path) -> dict[str, str]:
    return {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in folder.iterdir()}


def _read_everything(folder: Path, copies: Path) -> dict[str, str]:
    """Run each reading command against the store in `folder`; returns what each printed,
    by command, after checking that it changed no byte of any file there."""
    environ = idp_environ(folder, {"IDP_FACTORS_ENABLED": "pocket"})
    shown = {}
    for command in _reading_commands(folder / "idp.sqlite3", copies):
        before = _files(folder)
        shown[command[0] + " " + command[1]] = run_idp(environ, *command)
        assert _files(folder) == before, f"`idp {' '.join(command)}` changed the store's files"
    return shown


def _populate(folder: Path) -> None:
    """A store with signing keys, the account client, the Pocket key file, a relying
    party, and alice with two phones and recovery codes."""
    settings = pocket_settings(folder)
    app = create_app(settings)
    with TestClient(app, base_url=ISSUER, follow_redirects=False) as client:
        env = PocketEnv(app, client, settings, Clock())
        env.add_client(mfa="required", name="Team wiki")
        user = env.add_user()
        paired_phone(env, name="Pixel 8")
        paired_phone(env, name="iPhone 15")
        plugin = env.provider.plugins["pocket"]
        assert isinstance(plugin, PocketFactor)
        env.run(plugin.services.recovery.issue, user.sub, 10)
    env.provider.store.close_now()  # the connections of this thread, where the app was built


def _served(tmp_path: Path, data: Path) -> IdpNode:
    """`idp serve` on the store in `data`, after a request that writes (a login begins)."""
    node = IdpNode("idp", tmp_path, idp_environ(data, {"IDP_FACTORS_ENABLED": "pocket"}))
    node.start()
    try:
        assert httpx.get(f"{node.url}/account").status_code == 303
    except BaseException:
        node.kill()
        raise
    return node


def test_reading_leaves_the_store_of_a_stopped_and_of_a_killed_server_as_it_was(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    _populate(data)
    # a server stopped cleanly: it copied its WAL into the database and removed it
    _served(tmp_path, data).stop()
    assert sorted(_files(data)) == ["idp.sqlite3", "pocket-encryption.key"]
    shown = _read_everything(data, tmp_path)
    assert '"username": "alice"' in shown["users list"]
    assert "Pixel 8" in shown["users devices"] and "iPhone 15" in shown["users devices"]
    assert "recovery codes" in shown["users show"]
    assert "Team wiki" in shown["clients list"] and "account" in shown["clients list"]
    assert "RS256  active" in shown["keys list"]
    # a server killed: its WAL and the WAL's index are left as they were
    _served(tmp_path, data).kill()
    assert sorted(_files(data)) == [
        "idp.sqlite3",
        "idp.sqlite3-shm",
        "idp.sqlite3-wal",
        "pocket-encryption.key",
    ]
    shown = _read_everything(data, tmp_path / "again")
    assert "Pixel 8" in shown["users devices"]
    assert "Team wiki" in shown["clients list"]


def test_reading_a_store_no_server_opened_makes_no_key_file(tmp_path: Path) -> None:
    data = tmp_path / "data"
    environ = idp_environ(data, {"IDP_FACTORS_ENABLED": "pocket"})
    run_idp(environ, "db", "init")
    run_idp(environ, "users", "add", "alice", "--password-stdin", stdin="long enough\n")
    assert sorted(_files(data)) == ["idp.sqlite3"]
    shown = _read_everything(data, tmp_path)
    assert "alice has no paired or remembered devices" in shown["users devices"]
    assert "no signing keys yet" in shown["keys list"]
