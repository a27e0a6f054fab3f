"""`idp keys ...`: signing keys, through the same service as the admin API
(idp.admin.keys)."""

from __future__ import annotations

import argparse
import time

from idp.admin.keys import KeyAdmin
from idp.cli.common import command_audit, existing_store
from idp.keys import KeyRing
from idp.settings import Settings
from idp.store import describe_store


async def cmd_keys(args: argparse.Namespace, settings: Settings) -> None:
    async with (
        existing_store(args, settings, read_only=args.action == "list") as store,
        command_audit(settings, store) as audit,
    ):
        keys = KeyAdmin(KeyRing(store, settings), audit)
        if args.action == "rotate":
            new = await keys.rotate(args.alg)
            print(f"new active signing keys in the {describe_store(settings.store)}:")
            for key in new:
                print(f"  new active {key.alg} key {key.kid}")
            print("old keys stay published until the tokens they signed have expired")
            return
        listed = await keys.list()
        if not listed:
            print("no signing keys yet: `idp serve` makes them when it first starts")
        for key in listed:
            if key.state == "published":
                until = time.localtime(key.retire_at or time.time())
                status = "published until " + time.strftime("%Y-%m-%d %H:%M", until)
            else:
                status = key.state
            print(f"{key.kid}  {key.alg}  {status}")
