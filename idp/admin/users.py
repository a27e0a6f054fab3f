"""Users: adding, finding (in pages), changing, disabling and removing them, their
passwords, and the second factors they enrolled (through each plugin's MethodAdmin)."""

from __future__ import annotations

import base64
import binascii
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from idp.admin import user_fields
from idp.admin.errors import Conflict, InvalidField, NotFound, Taken
from idp.admin.sessions import SessionAdmin
from idp.audit import AuditTrail
from idp.factors import AdminMethod, FactorPlugin, MethodAdmin
from idp.login.remembered_browsers import RememberedBrowser, RememberedBrowsers
from idp.passwords import Passwords
from idp.store import Store, User

_BASE64URL = re.compile(r"[A-Za-z0-9_-]{1,1024}")
#: the most users one page holds, and how many when the caller does not say
MAX_PAGE = 200
DEFAULT_PAGE = 50
#: the "plugin" of a remembered browser among a user's methods (its id: browser:<id>)
REMEMBERED = "browser"
REMEMBERED_KIND = "remembered browser"


@dataclass(frozen=True)
class UserPage:
    users: list[User]
    #: what gives the next page; None on the last one
    cursor: str | None


@dataclass(frozen=True)
class UserMethod:
    """A method a user enrolled, and the plugin that keeps it."""

    plugin: str
    method: AdminMethod

    @property
    def id(self) -> str:
        """Unique among the user's methods: the plugin's name, a colon, the plugin's id."""
        return f"{self.plugin}:{self.method.id}"


class UserAdmin:
    def __init__(
        self,
        store: Store,
        passwords: Passwords,
        plugins: Mapping[str, FactorPlugin],
        audit: AuditTrail,
    ) -> None:
        self.store = store
        self.passwords = passwords
        self.plugins = plugins
        #: the trail of whoever acts (AuditTrail.acting): every change is an event
        self.audit = audit
        self.sessions = SessionAdmin(store, audit)
        self.remembered = RememberedBrowsers(store)

    async def get(self, sub: str) -> User:
        user = await self.store.get_user(sub)
        if user is None:
            raise NotFound(f"no user with id {sub!r}")
        return user

    async def named(self, username: str) -> User:
        user = await self.store.find_user(username)
        if user is None:
            raise NotFound(f"no user named {username!r}")
        return user

    async def add(self, username: object, claims: object = None, password: object = None) -> User:
        """A new user; without a password they cannot log in until one is set."""
        name = user_fields.username(username)
        given = user_fields.claims(claims if claims is not None else {})
        secret = user_fields.password(password) if password is not None else None
        now = int(time.time())
        user = User(
            sub=str(uuid.uuid4()),
            username=name,
            password_hash=await self.passwords.hash_async(secret) if secret else "",
            created_at=now,
            updated_at=now,
            **given,
        )
        try:
            await self.store.add_user(user)
        except Conflict:
            raise Taken("username", f"a user named {name!r} exists already") from None
        await self.audit.record("user_created", sub=user.sub, username=name)
        return user

    async def page(
        self, limit: object = None, cursor: object = None, search: object = ""
    ) -> UserPage:
        """A page of users by username, from `cursor` (what the page before gave)."""
        size = DEFAULT_PAGE if limit is None else _limit(limit)
        after = _after(cursor) if cursor else ""
        found = await self.store.page_users(after, size + 1, user_fields.text("search", search))
        more = len(found) > size
        users = found[:size]
        return UserPage(users, _cursor(users[-1].username) if more else None)

    async def change(self, sub: str, claims: object = None, disabled: object = None) -> User:
        """Change some claims (null clears a text claim), disable or enable. Disabling ends
        every SSO session of the user, in the same unit of work."""
        changes: dict[str, Any] = {}
        if claims is not None:
            changes = user_fields.claims(_cleared(claims))
        if disabled is not None:
            changes["disabled"] = user_fields.flag("disabled", disabled)
        async with self.store.unit():
            user = await self.get(sub)
            changed = replace(user, **changes, updated_at=int(time.time()))
            await self.store.update_user(changed)
            if changed.disabled and not user.disabled:
                await self.sessions.end_all(sub)
        await self.audit.record(
            "user_changed", sub=sub, changed=sorted(changes), disabled=changed.disabled
        )
        return changed

    async def remove(self, sub: str) -> None:
        """The user goes, with their SSO sessions and what each plugin keeps of them."""
        async with self.store.unit():
            user = await self.get(sub)
            for plugin in self.plugins.values():
                await plugin.reset(user)
            await self.sessions.end_all(sub)
            await self.store.remove_user(sub)
        await self.audit.record("user_removed", sub=sub, username=user.username)

    async def set_password(self, sub: str, password: object) -> User:
        secret = user_fields.password(password)
        password_hash = await self.passwords.hash_async(secret)
        async with self.store.unit():
            user = await self.get(sub)
            changed = replace(user, password_hash=password_hash, updated_at=int(time.time()))
            await self.store.update_user(changed)
            await self.remembered.forget_all(sub)
        await self.audit.record("password_changed", sub=sub, reason="set_by_admin")
        return changed

    async def reset_second_factor(self, sub: str) -> int:
        """Every second factor of the user goes, and every browser remembered after one:
        they enroll again at their next login. How many items were removed."""
        async with self.store.unit():
            user = await self.get(sub)
            removed = sum([await p.reset(user) for p in self.plugins.values()])
            removed += await self.remembered.forget_all(sub)
        await self.audit.record("second_factor_reset", sub=sub, count=removed)
        return removed

    async def methods(self, sub: str) -> list[UserMethod]:
        """What the user enrolled, plugin by plugin (those that offer MethodAdmin), then
        the browsers remembered after a second factor (devices of plugin "browser")."""
        user = await self.get(sub)
        enrolled = [
            UserMethod(name, method)
            for name, plugin in self.plugins.items()
            if isinstance(plugin, MethodAdmin)
            for method in await plugin.admin_methods(user)
        ]
        browsers = [
            UserMethod(REMEMBERED, _browser_method(b)) for b in await self.remembered.list(sub)
        ]
        return enrolled + browsers

    async def remove_method(self, sub: str, method_id: str) -> None:
        name, _, local_id = method_id.partition(":")
        plugin = self.plugins.get(name)
        async with self.store.unit():
            user = await self.get(sub)
            if name == REMEMBERED:
                removed = await self.remembered.forget(sub, local_id)
            elif not isinstance(plugin, MethodAdmin) or not local_id:
                removed = False
            else:
                removed = await plugin.remove_method(user, local_id)
            if not removed:
                raise NotFound(f"the user has no method {method_id!r}")
        await self.audit.record("method_removed", sub=sub, method_id=method_id)


def _browser_method(browser: RememberedBrowser) -> AdminMethod:
    return AdminMethod(
        id=browser.id,
        kind=REMEMBERED_KIND,
        label=browser.browser or "a browser",
        created_at=browser.created_at,
        last_used=browser.last_used,
        device=True,
    )


def _limit(value: object) -> int:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PAGE:
        raise InvalidField("limit", f"must be a whole number from 1 to {MAX_PAGE}")
    return value


def _cursor(username: str) -> str:
    return base64.urlsafe_b64encode(username.encode()).rstrip(b"=").decode()


def _after(cursor: object) -> str:
    wrong = InvalidField("cursor", "is not a cursor this IdP gave")
    if not isinstance(cursor, str) or not _BASE64URL.fullmatch(cursor):
        raise wrong
    try:
        after = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise wrong from None
    if not after:
        raise wrong
    return after


def _cleared(claims: object) -> object:
    """Claims in which null clears a text claim (an empty string) or the address."""
    if not isinstance(claims, Mapping):
        return claims
    empty: dict[str, object] = {name: "" for name in user_fields.TEXT_CLAIMS}
    empty["address"] = {}
    return {
        name: empty[name] if value is None and name in empty else value
        for name, value in claims.items()
    }
