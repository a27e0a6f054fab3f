"""What a login keeps between requests: the pending login and the SSO session.

A pending login ("login:<id>") holds the validated authorization request and what has
been proven so far; it is bound to the browser that started it and to a CSRF token.
An SSO session ("session:<sid>") records who logged in, when, and with which methods.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from idp.settings import Settings
from idp.store import Store

if TYPE_CHECKING:
    from idp.factors import PendingLoginView

BROWSER_COOKIE = "idp_browser"
#: where a request keeps the SSO session it looked up
_SESSION_KEY = "idp_sso_session"


@dataclass
class AuthRequest:
    """A validated authorization request (OIDC Core 3.1.2.1)."""

    client_id: str
    redirect_uri: str
    scope: list[str]
    state: str | None = None
    nonce: str | None = None
    prompt: list[str] = field(default_factory=list)
    max_age: int | None = None
    #: known acr values in order of preference: acr_values, then a voluntary acr claim's
    acr_values: list[str] = field(default_factory=list)
    #: known values of an acr claim requested as essential (Core 5.5.1.1)
    acr_essential: list[str] = field(default_factory=list)
    ui_locales: str | None = None
    login_hint: str | None = None
    id_token_hint_sub: str | None = None
    #: the ID token the client sent as a hint, as it was sent (see restart_url)
    id_token_hint: str | None = None
    claims: dict[str, Any] = field(default_factory=dict)
    code_challenge: str | None = None
    code_challenge_method: str | None = None


@dataclass
class PendingLogin:
    id: str
    browser: str
    csrf: str
    request: AuthRequest
    locale: str
    created_at: int
    #: set by the password step (or taken over from the SSO session)
    sub: str | None = None
    auth_time: int | None = None
    amr: list[str] = field(default_factory=list)
    #: true once a second factor was passed within this login or the session
    factor_done: bool = False
    #: the second factor was skipped: this browser is remembered for the user
    #: (login/remembered_browsers.py); not a second factor of this login
    browser_remembered: bool = False
    #: the user, who has no second factor yet, pressed "Set up later"
    #: (login/enrollment_deadline.py)
    enrollment_postponed: bool = False
    #: the password was checked in this login: a new SSO session follows
    fresh: bool = False
    #: the user allowed the client on the consent page of this login
    consented: bool = False
    #: saved in the store (a step sent the browser away and it will come back)
    stored: bool = False
    #: the second-factor step: the plugin and method it began with (None: the plugin's
    #: pick), and how many methods the host's page offers besides (login/factor_methods)
    factor_plugin: str | None = None
    factor_method: str | None = None
    other_methods: int = 0

    @property
    def client_id(self) -> str:
        """The client the login is for (idp.factors.PendingLoginView)."""
        return self.request.client_id

    @classmethod
    def of(cls, login: PendingLoginView) -> PendingLogin:
        """The login behind the view a plugin hands back to the host: always one that
        `FactorHost.load_login` gave it."""
        if not isinstance(login, cls):
            raise TypeError(f"{type(login).__name__} is not a login of this provider")
        return login

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PendingLogin:
        data = dict(data)
        data.pop("consumed", None)
        data["request"] = AuthRequest(**data["request"])
        return cls(**data)


@dataclass
class SsoSession:
    sid: str
    sub: str
    auth_time: int
    amr: list[str]
    acr: str

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class LoginState:
    """Pending logins and SSO sessions in the store, and the cookies that point at them."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self.cookie_name = settings.session.cookie_name

    # --- browser binding
    def browser_id(self, request: Request) -> str | None:
        value = request.cookies.get(BROWSER_COOKIE) or request.scope.get("state", {}).get(
            "idp_browser"
        )
        return _digest(value) if value else None

    def browser_for(self, request: Request) -> tuple[str, str | None]:
        """This browser's id, minting a cookie value (returned second) if it has none."""
        value = request.cookies.get(BROWSER_COOKIE)
        if value:
            return _digest(value), None
        value = secrets.token_urlsafe(24)
        # the new cookie counts for the rest of this request as well
        request.scope.setdefault("state", {})["idp_browser"] = value
        return _digest(value), value

    def remember_browser(self, response: Response, value: str) -> None:
        response.set_cookie(
            BROWSER_COOKIE,
            value,
            httponly=True,
            samesite="lax",
            secure=self.settings.secure_cookies,
            path="/",
        )

    # --- pending logins
    def start(self, browser: str, auth: AuthRequest, locale: str) -> PendingLogin:
        """A new pending login; it is stored only once a step needs the browser back
        (a login that an SSO session answers at once never touches the store)."""
        return PendingLogin(
            id=secrets.token_urlsafe(18),
            browser=browser,
            csrf=secrets.token_urlsafe(18),
            request=auth,
            locale=locale,
            created_at=int(time.time()),
        )

    async def save(self, login: PendingLogin) -> None:
        login.stored = True
        remaining = login.created_at + self.settings.session.login_ttl - int(time.time())
        await self.store.upsert("login", login.id, login.to_json(), expires_in=max(remaining, 1))

    async def load(self, request: Request, login_id: str) -> PendingLogin | None:
        """The pending login, if it exists and belongs to this browser."""
        data = await self.store.find("login", login_id)
        if data is None or data.get("consumed"):
            return None
        login = PendingLogin.from_json(data)
        browser = self.browser_id(request)
        if browser is None or not hmac.compare_digest(browser, login.browser):
            return None
        return login

    async def finish(self, login: PendingLogin) -> bool:
        """Mark the pending login used; False if another request finished it first."""
        return not login.stored or await self.store.consume("login", login.id) is not None

    # --- SSO sessions
    async def current_session(self, request: Request) -> SsoSession | None:
        """This browser's SSO session, looked up once per request."""
        cache = request.scope.setdefault("state", {})
        if _SESSION_KEY not in cache:
            cache[_SESSION_KEY] = await self._find_session(request.cookies.get(self.cookie_name))
        session: SsoSession | None = cache[_SESSION_KEY]
        return session

    async def _find_session(self, sid: str | None) -> SsoSession | None:
        data = await self.store.find("session", _digest(sid)) if sid else None
        if data is None:
            return None
        data.pop("consumed", None)
        return SsoSession(**data)

    async def open_session(
        self, response: Response, sub: str, auth_time: int, amr: list[str], acr: str
    ) -> SsoSession:
        cookie_value = secrets.token_urlsafe(32)
        session = SsoSession(
            sid=secrets.token_urlsafe(12), sub=sub, auth_time=auth_time, amr=amr, acr=acr
        )
        ttl = self.settings.session.ttl
        await self.store.upsert(
            "session", _digest(cookie_value), session.to_json(), expires_in=ttl, sub=sub
        )
        response.set_cookie(
            self.cookie_name,
            cookie_value,
            max_age=ttl,
            httponly=True,
            samesite="lax",
            secure=self.settings.secure_cookies,
            path="/",
        )
        return session

    async def end_other_sessions(self, request: Request, sub: str) -> int:
        """End every SSO session of the user but this browser's; how many ended. Sessions
        are listed by their user (Store.find_by_sub) since they were first kept with it."""
        sid = request.cookies.get(self.cookie_name)
        keep = _digest(sid) if sid else None
        ended = 0
        for key, _ in await self.store.find_by_sub("session", sub):
            if key != keep:
                await self.store.destroy("session", key)
                ended += 1
        return ended

    async def end_session(self, request: Request, response: Response | None = None) -> None:
        """Forget this browser's SSO session; with a response, clear its cookie too."""
        sid = request.cookies.get(self.cookie_name)
        if sid:
            await self.store.destroy("session", _digest(sid))
        request.scope.setdefault("state", {})[_SESSION_KEY] = None
        if response is not None:
            response.delete_cookie(self.cookie_name, path="/")
