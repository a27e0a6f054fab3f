"""`idp db ...`: the store itself and its schema."""

from __future__ import annotations

import argparse
from pathlib import Path

from idp.cli.common import CliError
from idp.errors import StoreError
from idp.settings import Settings
from idp.store import describe_store, open_store, upgrade_store


async def cmd_db(args: argparse.Namespace, settings: Settings) -> None:
    where = describe_store(settings.store)
    if args.action == "init":
        await _init(settings, where)
        return
    try:
        _, before, after = await upgrade_store(settings.store)
    except StoreError as exc:
        raise CliError(f"the schema was not upgraded: {exc}") from None
    if before == after:
        print(f"{where}: schema version {after}, nothing to upgrade")
    else:
        print(f"{where}: schema upgraded from version {before} to {after}")


async def _init(settings: Settings, where: str) -> None:
    """A new store with its tables: a new sqlite file, or the tables in an empty
    PostgreSQL database (which the server would otherwise make at its first start)."""
    if not settings.store.networked and Path(settings.store.path).exists():
        raise CliError(f"there is a store at {settings.store.path} already")
    store = open_store(settings.store)
    try:
        await store.start()  # PostgreSQL: an empty database gets its tables, an older refused
    finally:
        await store.close()
    print(f"{where}: ready, with the tables of this version")
