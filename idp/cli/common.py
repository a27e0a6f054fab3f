"""What the commands share: errors, passwords from a prompt or stdin, look-ups."""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path

from idp.errors import IdpError
from idp.factors import FactorPlugin
from idp.settings import Settings
from idp.store import Store, User


class CliError(IdpError):
    """A command that cannot be carried out; the message says why."""


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
    if len(password) < 8:
        raise CliError("the password must be at least 8 characters long")
    return password


async def user_named(store: Store, username: str) -> User:
    user = await store.find_user(username)
    if user is None:
        raise CliError(f"no user named {username!r}")
    return user


def enabled_plugins(settings: Settings, store: Store) -> dict[str, FactorPlugin]:
    """The enabled second-factor plugins, set up as the server sets them up."""
    from idp.provider import Provider

    return dict(Provider(settings, store=store).plugins)
