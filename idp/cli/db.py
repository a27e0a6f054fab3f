"""`idp db ...`: the store's schema."""

from __future__ import annotations

import argparse

from idp.cli.common import CliError
from idp.errors import StoreError
from idp.settings import Settings
from idp.store import upgrade_store


async def cmd_db(args: argparse.Namespace, settings: Settings) -> None:
    try:
        where, before, after = await upgrade_store(settings.store)
    except StoreError as exc:
        raise CliError(f"the schema was not upgraded: {exc}") from None
    if before == after:
        print(f"{where}: schema version {after}, nothing to upgrade")
    else:
        print(f"{where}: schema upgraded from version {before} to {after}")
