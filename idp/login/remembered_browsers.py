"""Remembered browsers: "remember this browser for N days" after a second factor.

A user who passes the second factor may have the browser remembered ([factors]
remember_days): its later logins as that user skip the factor while the record lasts
(the pipeline decides when, login/pipeline.py). The browser keeps an `idp_remember`
cookie (HttpOnly, SameSite=Lax, Secure on an https issuer) that carries, for each user
remembered there, only a random id and its MAC; the record itself (user, when made, when
it ends, the browser's name, when last used) lives in the durable store under the
digest of that id, with its lifetime, listed by user so that it can be removed: one by
one on the account page and by an administrator, all at once by a password change, a
second-factor reset or "log out everywhere". A forged, stale or foreign value counts for
nothing. The MAC key is one record of the store, made by the first server that needs
it, so every node checks every node's cookies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from idp.store import Store

REMEMBER_COOKIE = "idp_remember"
#: the record of one remembered browser of one user, under the digest of its id
REMEMBERED_MODEL = "remembered_browser"
#: the record that holds the key of the cookies' MACs
KEY_MODEL = "remember_key"
KEY_ID = "mac"
#: the most users one browser is remembered for; the oldest is forgotten first
MAX_PER_BROWSER = 5
DAY = 86400

_FAMILIES = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"))
_SYSTEMS = (
    ("Windows", "Windows"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Mac OS X", "macOS"),
    ("Android", "Android"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


@dataclass(frozen=True)
class RememberedBrowser:
    #: names the record to the user and to administrators; the cookie's id is never shown
    id: str
    sub: str
    created_at: int
    expires_at: int
    #: the browser and its system, as its User-Agent said ("Firefox 128 on Linux")
    browser: str
    last_used: int


def browser_summary(user_agent: str) -> str:
    """A short name of the browser and its system, or "" when the agent says neither."""
    name = ""
    for marker, family in _FAMILIES:
        if marker in user_agent:
            version = user_agent.split(marker, 1)[1].split(".", 1)[0].split(" ", 1)[0]
            name = f"{family} {version}" if version.isdigit() else family
            break
    else:
        if "Safari/" in user_agent:
            name = "Safari"
    system = next((s for marker, s in _SYSTEMS if marker in user_agent), "")
    if name and system:
        return f"{name} on {system}"
    return name or system or user_agent.split("/", 1)[0][:40]


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _shown(record_id: str, payload: dict[str, object]) -> RememberedBrowser:
    def number(name: str) -> int:
        value = payload.get(name)
        return value if isinstance(value, int) else 0

    return RememberedBrowser(
        id=record_id,
        sub=str(payload.get("sub", "")),
        created_at=number("created_at"),
        expires_at=number("expires_at"),
        browser=str(payload.get("browser", "")),
        last_used=number("last_used"),
    )


class RememberedBrowsers:
    def __init__(self, store: Store, *, secure_cookies: bool = False) -> None:
        self.store = store
        self.secure = secure_cookies
        self._mac_key: bytes | None = None

    # --- the cookie
    async def _key(self) -> bytes:
        if self._mac_key is None:
            # servers that start at the same moment take turns (see Store.unit)
            async with self.store.unit():
                await self.store.hit(f"{KEY_MODEL}:ensure", 60)
                found = await self.store.find(KEY_MODEL, KEY_ID)
                if found is None:
                    found = {"key": secrets.token_urlsafe(32)}
                    await self.store.upsert(KEY_MODEL, KEY_ID, found)
            self._mac_key = str(found["key"]).encode()
        return self._mac_key

    async def _mac(self, browser_id: str) -> str:
        mac = hmac.new(await self._key(), browser_id.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac[:18]).decode()

    async def _valid_ids(self, request: Request) -> list[str]:
        """The ids in this browser's cookie whose MAC is right, in the cookie's order."""
        value = request.cookies.get(REMEMBER_COOKIE, "")
        found = []
        for token in value.split(":")[:MAX_PER_BROWSER]:
            browser_id, _, mac = token.partition(".")
            if browser_id and mac and hmac.compare_digest(mac, await self._mac(browser_id)):
                found.append(browser_id)
        return found

    async def recognises(self, request: Request, sub: str) -> bool:
        """This browser is remembered for the user (a live record of theirs); the record's
        last use becomes now."""
        for browser_id in await self._valid_ids(request):
            record_id = _digest(browser_id)
            payload = await self.store.find(REMEMBERED_MODEL, record_id)
            if payload is None or payload.get("sub") != sub:
                continue
            now = int(time.time())
            left = int(payload.get("expires_at", 0)) - now
            if left <= 0:
                continue
            payload.pop("consumed", None)
            payload["last_used"] = now
            await self.store.upsert(REMEMBERED_MODEL, record_id, payload, left, sub=sub)
            return True
        return False

    async def remember(self, request: Request, response: Response, sub: str, days: int) -> None:
        """Remember this browser for the user for `days` days, beside the other users it
        is remembered for (whose records still live)."""
        now = int(time.time())
        browser_id = secrets.token_urlsafe(24)
        lifetime = days * DAY
        payload = {
            "sub": sub,
            "created_at": now,
            "expires_at": now + lifetime,
            "browser": browser_summary(request.headers.get("user-agent", "")),
            "last_used": now,
        }
        await self.store.upsert(REMEMBERED_MODEL, _digest(browser_id), payload, lifetime, sub=sub)
        kept = []
        longest = lifetime
        for other in await self._valid_ids(request):
            record = await self.store.find(REMEMBERED_MODEL, _digest(other))
            if record is not None and record.get("sub") != sub:
                kept.append(other)
                longest = max(longest, int(record.get("expires_at", 0)) - now)
        ids = [*kept, browser_id][-MAX_PER_BROWSER:]
        tokens = [f"{i}.{await self._mac(i)}" for i in ids]
        response.set_cookie(
            REMEMBER_COOKIE,
            ":".join(tokens),
            max_age=longest,
            httponly=True,
            samesite="lax",
            secure=self.secure,
            path="/",
        )

    # --- the user's records
    async def list(self, sub: str) -> list[RememberedBrowser]:
        """The user's remembered browsers, oldest first."""
        return [
            _shown(record_id, payload)
            for record_id, payload in await self.store.find_by_sub(REMEMBERED_MODEL, sub)
        ]

    async def forget(self, sub: str, record_id: str) -> bool:
        """Forget one remembered browser of the user; False if they have none of that id."""
        async with self.store.unit():
            for key, _ in await self.store.find_by_sub(REMEMBERED_MODEL, sub):
                if key == record_id:
                    await self.store.destroy(REMEMBERED_MODEL, key)
                    return True
        return False

    async def forget_all(self, sub: str) -> int:
        """Forget every remembered browser of the user; how many there were."""
        async with self.store.unit():
            found = await self.store.find_by_sub(REMEMBERED_MODEL, sub)
            for key, _ in found:
                await self.store.destroy(REMEMBERED_MODEL, key)
        return len(found)
