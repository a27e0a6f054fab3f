"""`idp keys ...`: signing keys."""

from __future__ import annotations

import argparse
import time

from idp.cli.common import existing_store
from idp.keys import ALGORITHMS, KeyRing
from idp.settings import Settings
from idp.store import Store, describe_store


async def cmd_keys(args: argparse.Namespace, settings: Settings) -> None:
    async with existing_store(args, settings, read_only=args.action == "list") as store:
        if args.action == "rotate":
            await _rotate(args, settings, store)
        else:
            await _list(store)


async def _rotate(args: argparse.Namespace, settings: Settings, store: Store) -> None:
    keys = await KeyRing(store, settings).rotate(tuple(args.alg or ALGORITHMS))
    print(f"new active signing keys in the {describe_store(settings.store)}:")
    for key in keys:
        print(f"  new active {key.alg} key {key.kid}")
    print("old keys stay published until the tokens they signed have expired")


async def _list(store: Store) -> None:
    now = time.time()
    keys = await store.list_keys()
    if not keys:
        print("no signing keys yet: `idp serve` makes them when it first starts")
    for key in keys:
        if key.retire_at and key.retire_at < now:
            status = "retired"
        elif key.rotated_at:
            status = "published until " + time.strftime(
                "%Y-%m-%d %H:%M", time.localtime(key.retire_at or now)
            )
        else:
            status = "active"
        print(f"{key.kid}  {key.alg}  {status}")
