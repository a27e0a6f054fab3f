"""`idp keys ...`: signing keys."""

from __future__ import annotations

import argparse
import time

from idp.keys import ALGORITHMS, KeyRing
from idp.settings import Settings
from idp.store import open_store


async def cmd_keys(args: argparse.Namespace, settings: Settings) -> None:
    store = open_store(settings.store)
    ring = KeyRing(store, settings)
    if args.action == "rotate":
        for key in await ring.rotate(tuple(args.alg or ALGORITHMS)):
            print(f"new active {key.alg} key {key.kid}")
        print("old keys stay published until the tokens they signed have expired")
    else:
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
