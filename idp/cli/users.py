"""`idp users ...`: accounts, their passwords and their second factors, through the same
service as the admin API (idp.admin.users)."""

from __future__ import annotations

import argparse
import json
import sys
import time

from idp.admin.users import REMEMBERED, UserAdmin, UserMethod
from idp.cli.common import (
    CliError,
    command_audit,
    enabled_plugins,
    existing_store,
    read_password,
)
from idp.cli.users_import import import_users, read_entries
from idp.passwords import Passwords
from idp.settings import Settings
from idp.store import Store, User, describe_store

#: the actions that only read: they open the store read-only
READING = frozenset({"list", "show", "devices"})


async def cmd_users(args: argparse.Namespace, settings: Settings) -> None:
    read_only = args.action in READING
    async with (
        existing_store(args, settings, read_only=read_only) as store,
        command_audit(settings, store) as audit,
    ):
        plugins = enabled_plugins(settings, store, audit)
        users = UserAdmin(store, Passwords(settings.passwords), plugins, audit)
        if read_only:
            await _read(args, users)
        else:
            await _write(args, users, store, describe_store(settings.store))


async def _read(args: argparse.Namespace, admin: UserAdmin) -> None:
    if args.action == "list":
        users = await admin.store.list_users()
        if args.json:
            print(json.dumps([_user_json(u) for u in users], indent=2))
            return
        for u in users:
            print(f"{u.username:<20} {u.sub}  {u.name or '-':<24} {u.email or '-'}")
        if not users:
            print("no users")
        return
    user = await admin.named(args.username)
    methods = await admin.methods(user.sub)
    if args.action == "show":
        shown = _user_json(user)
        shown["second_factors"] = [
            {
                "id": m.id,
                "plugin": m.plugin,
                "kind": m.method.kind,
                "label": m.method.label,
                "enrolled_at": _when(m.method.created_at),
            }
            for m in methods
        ]
        print(json.dumps(shown, indent=2, ensure_ascii=False))
        return
    devices = [m for m in methods if m.method.device]
    if args.json:
        print(json.dumps([_device_json(m) for m in devices], indent=2))
        return
    for m in devices:
        shown = _device_json(m)
        made = "remembered" if m.plugin == REMEMBERED else "paired"
        print(f"{m.method.label:<24} {made} {shown['paired_at']}  last used {shown['last_used']}")
    if not devices:
        print(f"{user.username} has no paired or remembered devices")


async def _write(args: argparse.Namespace, admin: UserAdmin, store: Store, where: str) -> None:
    """The actions that change the store; each says which store it changed."""
    if args.action == "add":
        password = read_password(args.password_stdin)
        claims = {
            "name": args.name or "",
            "given_name": args.given_name or "",
            "family_name": args.family_name or "",
            "email": args.email or "",
            "email_verified": args.email_verified,
            "locale": args.locale or "",
        }
        user = await admin.add(args.username, claims, password)
        if args.json:  # as `users show` has it: a new user has no second factor yet
            print(
                json.dumps({**_user_json(user), "second_factors": []}, indent=2, ensure_ascii=False)
            )
        else:
            print(f"added user {user.username} (sub {user.sub}) to the {where}")
    elif args.action == "import":
        if args.file == "-":
            entries = read_entries(sys.stdin)
        else:
            try:
                with open(args.file, encoding="utf-8") as lines:
                    entries = read_entries(lines)
            except OSError as exc:
                raise CliError(f"cannot read {args.file}: {exc.strerror}") from None
        added = await import_users(store, admin.passwords, entries)
        for new in added:
            await admin.audit.record("user_created", sub=new.sub, username=new.username)
        print(f"imported {len(added)} user(s) into the {where}")
    elif args.action == "reset-mfa":
        user = await admin.named(args.username)
        removed = await admin.reset_second_factor(user.sub)
        print(
            f"removed {removed} second-factor item(s) of {user.username} from the {where}; "
            "they enroll again at their next login"
        )
    elif args.action == "remove":
        user = await admin.named(args.username)
        await admin.remove(user.sub)
        print(f"removed user {user.username} from the {where}")
    elif args.action == "set-password":
        user = await admin.named(args.username)
        password = read_password(args.password_stdin)
        await admin.set_password(user.sub, password)
        print(f"changed the password of {user.username} in the {where}")


def _when(ts: object) -> str:
    if not isinstance(ts, int) or ts <= 0:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def _device_json(m: UserMethod) -> dict[str, object]:
    return {
        "id": m.id,
        "plugin": m.plugin,
        "name": m.method.label,
        "paired_at": _when(m.method.created_at),
        "last_used": _when(m.method.last_used),
    }


def _user_json(u: User) -> dict[str, object]:
    return {
        "sub": u.sub,
        "username": u.username,
        "name": u.name,
        "email": u.email,
        "email_verified": u.email_verified,
        "locale": u.locale,
        "created_at": u.created_at,
        "disabled": u.disabled,
    }
