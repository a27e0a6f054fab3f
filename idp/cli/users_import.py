"""`idp users import FILE`: many accounts at once, from JSON Lines.

One JSON object per line: "username" and "password" (at least 8 characters) are
required; "name", "given_name", "family_name", "email", "email_verified" and "locale"
are optional. Every line is checked before anything is written, and the users are added
in one transaction: a file with a mistake in it adds nobody. Passwords are hashed with
the configured argon2id settings, on every core at once.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from idp.cli.common import CliError
from idp.passwords import MIN_LENGTH, Passwords, too_short
from idp.store import Store, User

_TEXT_FIELDS = ("name", "given_name", "family_name", "email", "locale")
_KNOWN = {"username", "password", "email_verified", *_TEXT_FIELDS}


def _entry(line_no: int, text: str) -> dict[str, Any]:
    try:
        entry = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(f"line {line_no}: not JSON ({exc.msg})") from None
    if not isinstance(entry, dict):
        raise CliError(f"line {line_no}: expected a JSON object")
    unknown = sorted(set(entry) - _KNOWN)
    if unknown:
        raise CliError(f"line {line_no}: unknown field(s) {', '.join(unknown)}")
    username = entry.get("username")
    if not isinstance(username, str) or not username.strip():
        raise CliError(f'line {line_no}: "username" must be a non-empty string')
    password = entry.get("password")
    if not isinstance(password, str) or too_short(password):
        raise CliError(
            f'line {line_no}: "password" must be a string of at least {MIN_LENGTH} characters'
        )
    for name in _TEXT_FIELDS:
        if not isinstance(entry.get(name, ""), str):
            raise CliError(f"line {line_no}: {name!r} must be a string")
    if not isinstance(entry.get("email_verified", False), bool):
        raise CliError(f'line {line_no}: "email_verified" must be true or false')
    return entry


def read_entries(lines: Iterable[str]) -> list[dict[str, Any]]:
    """The checked entries of a JSON Lines text; blank lines are skipped."""
    entries: list[dict[str, Any]] = []
    first_line: dict[str, int] = {}
    for line_no, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        entry = _entry(line_no, text)
        username = entry["username"]
        if username in first_line:
            raise CliError(f"line {line_no}: {username!r} was given on line {first_line[username]}")
        first_line[username] = line_no
        entries.append(entry)
    return entries


async def import_users(
    store: Store, passwords: Passwords, entries: list[dict[str, Any]]
) -> list[User]:
    """Add every entry as a user, or none of them; returns the users added."""
    taken = [e["username"] for e in entries if await store.find_user(e["username"]) is not None]
    if taken:
        shown = ", ".join(repr(name) for name in taken[:5]) + (" ..." if len(taken) > 5 else "")
        raise CliError(f"{len(taken)} user(s) exist already: {shown}; nothing was imported")
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        hashes = list(pool.map(passwords.hash, (e["password"] for e in entries)))
    now = int(time.time())
    users = [
        User(
            sub=str(uuid.uuid4()),
            username=entry["username"],
            password_hash=password_hash,
            email_verified=entry.get("email_verified", False),
            created_at=now,
            updated_at=now,
            **{name: entry.get(name, "") for name in _TEXT_FIELDS},
        )
        for entry, password_hash in zip(entries, hashes, strict=True)
    ]
    async with store.unit():
        for user in users:
            await store.add_user(user)
    return users
