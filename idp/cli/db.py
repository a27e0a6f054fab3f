"""`idp db ...`: the store's schema."""

from __future__ import annotations

import argparse

from idp.settings import Settings
from idp.store import upgrade_store


async def cmd_db(args: argparse.Namespace, settings: Settings) -> None:
    where, before, after = upgrade_store(settings.store)
    if before == after:
        print(f"{where}: schema version {after}, nothing to upgrade")
    else:
        print(f"{where}: schema upgraded from version {before} to {after}")
