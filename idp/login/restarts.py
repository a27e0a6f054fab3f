"""The way back into a login whose pending login is gone.

A pending login lives in the store for `[session] login_ttl` at most; with a Redis cache
(`[store] cache`) it is also lost with Redis's memory, when Redis is restarted without
persistence. Its pages then answer the expired page. So that this page can offer to
start the same login again, the browser keeps, in the cookie `idp_restart`, the
authorization request of each login it has in progress: by login id, the request's
query and the login's language.

The link is always this provider's own authorization endpoint with that query, which
checks the request afresh (client, redirect URI, PKCE): the cookie can lead nowhere a
link to /authorize could not. It keeps the relying party's state, nonce and code
challenge, so the code that the new login ends with completes the relying party's
request as the first one would have. A finished login is forgotten; the others are kept
a while after they expired, and the oldest go first when the cookie would grow too big.
"""

from __future__ import annotations

import base64
import binascii
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit

import orjson
from starlette.requests import Request
from starlette.responses import Response

from idp.i18n import LOCALES
from idp.json_input import parse_json
from idp.settings import Settings

RESTART_COOKIE = "idp_restart"
#: how long a login's way back is kept after the login itself expired
LINGER_SECONDS = 3600
#: the cookie's value at most (browsers keep at least 4096 bytes of a cookie)
MAX_COOKIE_BYTES = 3000


@dataclass(frozen=True)
class Restart:
    """A login's way back: the link that starts it again, in the login's language."""

    url: str
    locale: str


#: login id -> (kept until, locale, query of the authorization request)
_Entries = dict[str, tuple[float, str, str]]


class LoginRestarts:
    def __init__(self, settings: Settings) -> None:
        self.issuer = settings.issuer
        self.keep_for = settings.session.login_ttl + LINGER_SECONDS
        self.secure = settings.secure_cookies

    def find(self, request: Request, login_id: str) -> Restart | None:
        """The way back into this browser's login `login_id`, if it was kept."""
        entry = _read(request).get(login_id)
        if entry is None:
            return None
        _, locale, query = entry
        return Restart(f"{self.issuer}/authorize?{_requoted(query)}", locale)

    def remember(
        self, request: Request, response: Response, login_id: str, url: str, locale: str
    ) -> None:
        """Keep the way back into a login that has just been stored: `url` is its
        authorization request (Provider.restart_url)."""
        query = _requoted(urlsplit(url).query)
        entries = _read(request)
        entries.pop(login_id, None)
        entries[login_id] = (time.time() + self.keep_for, locale, query)
        self._write(response, entries)

    def forget(self, request: Request, response: Response, login_id: str) -> None:
        """The login has ended: its way back is no longer needed."""
        entries = _read(request)
        if entries.pop(login_id, None) is not None:
            self._write(response, entries)

    def _write(self, response: Response, entries: _Entries) -> None:
        value = _encoded(entries)
        while len(value) > MAX_COOKIE_BYTES and entries:
            del entries[next(iter(entries))]  # the oldest first
            value = _encoded(entries)
        if not entries:
            response.delete_cookie(RESTART_COOKIE, path="/")
            return
        left = max(until for until, _, _ in entries.values()) - time.time()
        response.set_cookie(
            RESTART_COOKIE,
            value,
            max_age=int(left),
            httponly=True,
            samesite="lax",
            secure=self.secure,
            path="/",
        )


def _requoted(query: str) -> str:
    """A query string as a query string only: whatever it holds, its parameters."""
    return urlencode(parse_qsl(query, keep_blank_values=True))


def _encoded(entries: _Entries) -> str:
    flat = {login_id: list(entry) for login_id, entry in entries.items()}
    raw = orjson.dumps(flat)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _read(request: Request) -> _Entries:
    """The entries of the request's cookie that have not run out, oldest first; a cookie
    that cannot be read is none."""
    value = request.cookies.get(RESTART_COOKIE)
    if not value or len(value) > MAX_COOKIE_BYTES * 2:
        return {}
    try:
        flat = parse_json(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    except (binascii.Error, ValueError):  # JsonInputError is a ValueError
        return {}
    if not isinstance(flat, dict):
        return {}
    now = time.time()
    entries: _Entries = {}
    for login_id, entry in flat.items():
        if not (isinstance(entry, list) and len(entry) == 3):
            continue
        until, locale, query = entry
        if (
            isinstance(until, int | float)
            and until > now
            and locale in LOCALES
            and isinstance(query, str)
        ):
            entries[login_id] = (float(until), locale, query)
    return entries
