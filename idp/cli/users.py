"""`idp users ...`: accounts, their passwords and their second factors."""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from dataclasses import replace

from idp.cli.common import CliError, enabled_plugins, existing_store, read_password, user_named
from idp.cli.users_import import import_users, read_entries
from idp.factors import EnrolledMethod
from idp.passwords import Passwords
from idp.settings import Settings
from idp.store import Store, User, describe_store

#: the kind of enrolled method that is a paired push device (a phone with the Pocket app)
PUSH_DEVICE_KIND = "pocket"


#: the actions that only read: they open the store read-only
READING = frozenset({"list", "show", "devices"})


async def cmd_users(args: argparse.Namespace, settings: Settings) -> None:
    read_only = args.action in READING
    async with existing_store(args, settings, read_only=read_only) as store:
        if read_only:
            await _read(args, settings, store)
        else:
            await _write(args, settings, store, describe_store(settings.store))


async def _read(args: argparse.Namespace, settings: Settings, store: Store) -> None:
    if args.action == "list":
        users = await store.list_users()
        if args.json:
            print(json.dumps([_user_json(u) for u in users], indent=2))
            return
        for u in users:
            print(f"{u.username:<20} {u.sub}  {u.name or '-':<24} {u.email or '-'}")
        if not users:
            print("no users")
        return
    user = await user_named(store, args.username)
    plugins = enabled_plugins(settings, store, read_only=True)
    if args.action == "show":
        shown = _user_json(user)
        shown["second_factors"] = [
            {
                "plugin": name,
                "kind": m.kind,
                "label": m.label,
                "enrolled_at": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(m.created_at)),
            }
            for name, plugin in plugins.items()
            for m in await plugin.methods(user)
        ]
        print(json.dumps(shown, indent=2, ensure_ascii=False))
        return
    devices = [
        (name, m)
        for name, plugin in plugins.items()
        for m in await plugin.methods(user)
        if m.kind == PUSH_DEVICE_KIND
    ]
    if args.json:
        print(json.dumps([_device_json(name, m) for name, m in devices], indent=2))
        return
    for name, m in devices:
        shown = _device_json(name, m)
        print(f"{m.label:<24} paired {shown['paired_at']}  last used {shown['last_used']}")
    if not devices:
        print(f"{user.username} has no paired push devices")


async def _write(args: argparse.Namespace, settings: Settings, store: Store, where: str) -> None:
    """The actions that change the store; each says which store it changed."""
    passwords = Passwords(settings.passwords)
    if args.action == "add":
        password = read_password(args.password_stdin)
        now = int(time.time())
        user = User(
            sub=str(uuid.uuid4()),
            username=args.username,
            password_hash=passwords.hash(password),
            name=args.name or "",
            given_name=args.given_name or "",
            family_name=args.family_name or "",
            email=args.email or "",
            email_verified=args.email_verified,
            locale=args.locale or "",
            created_at=now,
            updated_at=now,
        )
        await store.add_user(user)
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
        added = await import_users(store, passwords, entries)
        print(f"imported {len(added)} user(s) into the {where}")
    elif args.action == "reset-mfa":
        user = await user_named(store, args.username)
        removed = sum([await p.reset(user) for p in enabled_plugins(settings, store).values()])
        print(
            f"removed {removed} second-factor item(s) of {user.username} from the {where}; "
            "they enroll again at their next login"
        )
    elif args.action == "remove":
        user = await user_named(store, args.username)
        await store.remove_user(user.sub)
        print(f"removed user {user.username} from the {where}")
    elif args.action == "set-password":
        user = await user_named(store, args.username)
        password = read_password(args.password_stdin)
        await store.update_user(
            replace(user, password_hash=passwords.hash(password), updated_at=int(time.time()))
        )
        print(f"changed the password of {user.username} in the {where}")


def _device_json(plugin: str, m: EnrolledMethod) -> dict[str, object]:
    def when(ts: object) -> str:
        if not isinstance(ts, int) or ts <= 0:
            return "-"
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))

    return {
        "plugin": plugin,
        "name": m.label,
        "paired_at": when(m.created_at),
        "last_used": when(getattr(m, "last_used", None)),
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
    }
