"""Device cookies: the browsers an account has logged in from before.

After a correct password a browser receives (or keeps) an unguessable `idp_device`
cookie; the store keeps only its digest, with the usernames that logged in through it.
The password step's throttle gives such a browser an allowance of its own for those
accounts, so failures sent from anywhere else cannot lock the owner out of a browser
they have used before (OWASP, "Slow Down Online Guessing Attacks with Device Cookies").

The cookie proves nothing by itself: it is a random value that counts only while its
record exists in the store, bound to the account it names, and it expires with the
record. A forged or stale value is an unknown browser.
"""

from __future__ import annotations

import hashlib
import secrets

from starlette.requests import Request
from starlette.responses import Response

from idp.settings import Settings
from idp.store import Store

DEVICE_COOKIE = "idp_device"
DEVICE_MODEL = "device"
#: the most accounts one browser is known to; the one used longest ago is forgotten first
MAX_ACCOUNTS = 20


def account_name(username: str) -> str:
    """The form of a username that throttling and device records use."""
    return username.strip().lower()


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class KnownBrowsers:
    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.ttl = settings.login.device_cookie_ttl
        self.secure = settings.secure_cookies

    async def device_id(self, request: Request, username: str) -> str | None:
        """The id of this browser's device record if it has logged in as `username`."""
        value = request.cookies.get(DEVICE_COOKIE)
        if not value:
            return None
        device_id = _digest(value)
        record = await self.store.find(DEVICE_MODEL, device_id)
        if record is None or account_name(username) not in record.get("accounts", ()):
            return None
        return device_id

    async def remember(self, request: Request, response: Response, username: str) -> None:
        """After a correct password: this browser is known to the account from now on."""
        value = request.cookies.get(DEVICE_COOKIE)
        record = await self.store.find(DEVICE_MODEL, _digest(value)) if value else None
        if value is None or record is None:
            value = secrets.token_urlsafe(32)
            record = {"accounts": []}
        accounts = [a for a in record.get("accounts", ()) if a != account_name(username)]
        accounts = [*accounts, account_name(username)][-MAX_ACCOUNTS:]
        await self.store.upsert(
            DEVICE_MODEL, _digest(value), {"accounts": accounts}, expires_in=self.ttl
        )
        response.set_cookie(
            DEVICE_COOKIE,
            value,
            max_age=self.ttl,
            httponly=True,
            samesite="lax",
            secure=self.secure,
            path="/",
        )
