"""What the commands share: errors, the store, passwords from a prompt or stdin,
look-ups."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from idp.admin.host import command_plugins
from idp.audit import AuditTrail
from idp.errors import IdpError
from idp.factors import FactorPlugin
from idp.passwords import MIN_LENGTH, too_short
from idp.settings import Settings
from idp.store import Store, open_store


class CliError(IdpError):
    """A command that cannot be carried out; the message says why."""

    #: the exit status of the command
    exit_status = 1


class NoStore(CliError):
    """The configured store is not there."""

    exit_status = 2


@asynccontextmanager
async def existing_store(
    args: argparse.Namespace, settings: Settings, *, read_only: bool = False
) -> AsyncIterator[Store]:
    """The configured store, closed at the end. A sqlite file that is not there is not
    made: only `idp serve` and `idp db init` make a new store, so that a command given
    another configuration than the server's cannot fill a new store the server never
    reads. With `read_only`, nothing is written to the sqlite file, not even by sqlite."""
    store: Store
    if settings.store.networked:
        store = open_store(settings.store)
    else:
        path = Path(settings.store.path)
        if not path.is_file():
            raise NoStore(_no_store(path, args.config_file))
        from idp.store.sqlite import SqliteStore

        store = SqliteStore(path, read_only=read_only)
    try:
        yield store
    finally:
        await store.close()


def _no_store(path: Path, config_file: str | None) -> str:
    if "IDP_STORE_PATH" in os.environ:
        origin = "IDP_STORE_PATH"
    elif config_file:
        origin = f"store.path of {config_file}"
    else:
        origin = "no config file: give --config FILE"
    return (
        f"there is no sqlite store at {path} ({origin}); `idp serve` creates it when it"
        " first starts, `idp db init` creates an empty one"
    )


DEFAULT_CONFIG = "config/idp.toml"


def config_path(given: str | None) -> str | None:
    if given:
        return given
    env = os.environ.get("IDP_CONFIG")
    if env:
        return env
    return DEFAULT_CONFIG if Path(DEFAULT_CONFIG).exists() else None


def read_password(from_stdin: bool, confirm: bool = True) -> str:
    if from_stdin or not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password: ")
        if confirm and getpass.getpass("Repeat password: ") != password:
            raise CliError("the passwords do not match")
    if too_short(password):
        raise CliError(f"the password must be at least {MIN_LENGTH} characters long")
    return password


def enabled_plugins(settings: Settings, store: Store, audit: AuditTrail) -> dict[str, FactorPlugin]:
    """The enabled second-factor plugins, set up for a command (no provider is built:
    idp.admin.host)."""
    return command_plugins(settings, store, audit)


@asynccontextmanager
async def command_audit(settings: Settings, store: Store) -> AsyncIterator[AuditTrail]:
    """The audit trail of a command's admin verbs: its events name "cli" as the actor,
    and their JSON lines go to stderr (stdout holds the command's answer). Its webhook
    deliveries finish (or are given up) before the command ends."""
    trail = AuditTrail(store, settings.audit, stream=sys.stderr)
    try:
        yield trail.acting("cli")
    finally:
        await trail.aclose()
