"""The provider's parts, built once from settings, and the host that plugins talk to."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from authlib.oauth2.rfc6749 import AccessDeniedError
from starlette.requests import Request
from starlette.responses import Response

from idp.account import ACCOUNT_CLIENT_ID, ensure_account_client
from idp.audit import AuditTrail
from idp.factors import (
    FactorPlugin,
    PasswordlessLogin,
    PasswordlessOption,
    PendingLoginView,
    Postponement,
    set_up_plugins,
)
from idp.keys import KeyRing
from idp.login.acr import needs_second_factor
from idp.login.enrollment_deadline import Allowance, EnrollmentDeadline, postpone_label
from idp.login.factor_methods import FactorMethods
from idp.login.known_browsers import KnownBrowsers
from idp.login.pipeline import LoginPipeline
from idp.login.remembered_browsers import RememberedBrowsers
from idp.login.restarts import LoginRestarts
from idp.login.state import LoginState, PendingLogin, SsoSession
from idp.login.throttle import LoginThrottle
from idp.metrics import Metrics
from idp.offload import run_slow
from idp.oidc.authorize import authorization_url
from idp.oidc.discovery import discovery_bytes
from idp.oidc.redirects import error_redirect
from idp.oidc.server import OAuthServer
from idp.oidc.tokens import TokenMinter
from idp.pages import Pages
from idp.passwords import Passwords
from idp.rate_limits import RateLimits
from idp.settings import Settings
from idp.store import Client, Store, User, open_store
from idp.store.base import RecordView
from idp.store.timed import timed

log = logging.getLogger("idp")

T = TypeVar("T")


class Provider:
    """Everything a request handler needs, reachable as request.app.state.provider."""

    def __init__(
        self,
        settings: Settings,
        store: Store | None = None,
        plugins: Mapping[str, FactorPlugin] | None = None,
    ) -> None:
        self.settings = settings
        #: FactorHost.serving: this is the server's host
        self.serving = True
        #: FactorHost.metrics: what this process counts (GET /metrics, idp.management)
        self.metrics = Metrics()
        #: every operation timed for /metrics (idp.store.timed)
        self.store = timed(store or open_store(settings.store), self.metrics)
        #: FactorHost.audit: the security audit trail of every part (idp.audit)
        self.audit = AuditTrail(self.store, settings.audit)
        self.keys = KeyRing(self.store, settings)
        self.passwords = Passwords(settings.passwords)
        self.pages = Pages()
        self.state = LoginState(self.store, settings)
        self.restarts = LoginRestarts(settings)
        self.throttle = LoginThrottle(self.store, settings.login)
        self.rate_limits = RateLimits(self.store, settings.rate_limits)
        self.known_browsers = KnownBrowsers(self.store, settings)
        self.remembered = RememberedBrowsers(self.store, secure_cookies=settings.secure_cookies)
        self.enrollment_deadline = EnrollmentDeadline(self.store, settings.factors)
        self.minter = TokenMinter(settings, self.keys)
        self.oauth = OAuthServer(self.store, settings, self.minter, self.metrics)
        self.pipeline = LoginPipeline(self)
        self.discovery_bytes = discovery_bytes(settings.issuer)
        self._key_reloads: asyncio.Task[None] | None = None
        self.plugins = set_up_plugins(self, plugins)
        #: the second-factor step across the plugins: the method chooser, "use another"
        self.factor_methods = FactorMethods(self)

    # --- FactorHost
    def records(self, namespace: str) -> RecordView:
        return self.store.records(namespace)

    async def run_blocking(self, fn: Callable[..., T], *args: Any) -> T:
        return await run_slow(fn, *args)

    def add_messages(self, folder: Path) -> None:
        self.pages.catalogue.add(folder)

    async def load_login(self, request: Request, login_id: str) -> PendingLogin | None:
        return await self.state.load(request, login_id)

    async def get_user(self, sub: str) -> User | None:
        return await self.store.get_user(sub)

    async def session(self, request: Request) -> SsoSession | None:
        return await self.state.current_session(request)

    async def session_user(self, request: Request) -> User | None:
        session = await self.state.current_session(request)
        return await self.store.get_user(session.sub) if session else None

    async def get_client(self, client_id: str) -> Client | None:
        return await self.store.get_client(client_id)

    async def application_name(self, login: PendingLoginView) -> str | None:
        client_id = login.client_id
        if client_id == ACCOUNT_CLIENT_ID:
            return None
        client = await self.store.get_client(client_id)
        return client.name if client else client_id

    async def finish(
        self,
        request: Request,
        login: PendingLoginView,
        amr: Sequence[str],
        *,
        remember: bool = False,
    ) -> Response:
        login = PendingLogin.of(login)
        methods = [m for m in login.amr if m != "mfa"]
        methods += [m for m in amr if m not in methods]
        if len(methods) > 1:
            methods.append("mfa")
        login.amr = methods
        login.factor_done = True
        await self.audit.record(
            "factor_used",
            sub=login.sub,
            client=login.request.client_id,
            request=request,
            methods=[m for m in amr if m != "mfa"],
        )
        days = await self.remember_days(login) if remember else 0
        response = await self.pipeline.resume(request, login)
        if days and login.sub is not None:
            await self.remembered.remember(request, response, login.sub, days)
            await self.audit.record(
                "browser_remembered",
                sub=login.sub,
                client=login.request.client_id,
                request=request,
                days=days,
            )
        return response

    def remember_offered(self, client: Client) -> bool:
        """Whether browsers may be remembered for this client's logins."""
        return self.settings.factors.remember_days > 0 and client.remember_browser

    async def remember_days(self, login: PendingLoginView) -> int:
        client = await self.store.get_client(login.client_id)
        if client is None or not self.remember_offered(client):
            return 0
        return self.settings.factors.remember_days

    async def postponement(self, login: PendingLoginView) -> Postponement | None:
        login = PendingLogin.of(login)
        allowance = await self.postponement_allowed(login)
        if allowance is None:
            return None
        label = postpone_label(self.pages.translator(login.locale), allowance)
        return Postponement(f"/login/{login.id}/later", label)

    async def postponement_allowed(self, login: PendingLogin) -> Allowance | None:
        """What the user of the login may still postpone of their enrollment; never when
        the relying party asks for a second factor itself (acr step-up)."""
        if login.sub is None or needs_second_factor(login.request):
            return None
        client = await self.store.get_client(login.request.client_id)
        user = await self.store.get_user(login.sub)
        if client is None or user is None:
            return None
        for plugin in self.plugins.values():
            if await plugin.is_enrolled(user):
                return None
        return await self.enrollment_deadline.allowance(user, client)

    async def finish_passwordless(
        self, request: Request, login: PendingLoginView, user: User, amr: Sequence[str]
    ) -> Response:
        """The password step passed by a plugin alone (idp.factors.PasswordlessLogin).
        The methods count as two factors only if the plugin says so with "mfa"."""
        login = PendingLogin.of(login)
        if user.disabled:
            return await self.fail(request, login, "The user is disabled.")
        login.sub = user.sub
        login.auth_time = int(time.time())
        login.amr = list(dict.fromkeys(amr))
        login.factor_done = "mfa" in login.amr
        login.fresh = True
        await self.audit.record(
            "factor_used",
            sub=login.sub,
            client=login.request.client_id,
            request=request,
            methods=[m for m in login.amr if m != "mfa"],
            alone=True,  # (proven by the plugin alone, without the password)
        )
        return await self.pipeline.resume(request, login)

    def passwordless_options(self, login: PendingLogin) -> list[PasswordlessOption]:
        """The ways to log in without the password that the plugins put on the login
        page."""
        return [
            plugin.passwordless_option(login)
            for plugin in self.plugins.values()
            if isinstance(plugin, PasswordlessLogin)
        ]

    async def fail(self, request: Request, login: PendingLoginView, reason: str) -> Response:
        login = PendingLogin.of(login)
        await self.audit.record(
            "login_failed",
            outcome="failure",
            reason="factor_failed",
            sub=login.sub,
            client=login.request.client_id,
            request=request,
            description=reason,
        )
        await self.state.finish(login)
        auth = login.request
        return error_redirect(
            auth.redirect_uri, AccessDeniedError(reason), auth.state, self.settings.issuer
        )

    def expired(self, request: Request, locale: str | None = None) -> Response:
        """The page of a login that no longer exists; with a link that starts it again
        when this browser kept its way back (idp.login.restarts)."""
        login_id = request.path_params.get("login_id")
        restart = self.restarts.find(request, login_id) if isinstance(login_id, str) else None
        if restart is None:
            return self.pages.error(
                request, "error.expired.title", "error.expired.text", status_code=400, locale=locale
            )
        return self.pages.error(
            request,
            "error.expired.title",
            "error.expired.restart_text",
            status_code=400,
            locale=locale or restart.locale,
            link=(restart.url, "error.expired.restart"),
        )

    def restart_url(self, login: PendingLoginView) -> str:
        return authorization_url(self.settings.issuer, PendingLogin.of(login).request)

    def other_methods_url(self, login: PendingLoginView) -> str:
        return self.factor_methods.url(PendingLogin.of(login))

    async def start(self) -> None:
        """A server begins: the store's upkeep, the signing keys (made where missing, then
        loaded again now and then), and the built-in account client."""
        await self.store.start()
        await self.keys.ensure()
        self._key_reloads = asyncio.create_task(self.keys.keep_loaded())
        await ensure_account_client(self.store, self.settings.issuer)
        if self.enrollment_deadline.configured:
            await self.enrollment_deadline.take_effect()

    def stopping(self) -> None:
        """The process was asked to stop: the requests that wait for something to
        happen (long polls) answer now, and any that begins from now on at once, so the
        server's wait for its open requests is short (idp.stop_signals)."""
        self.store.wakeups.stop_waiting()

    async def shut_down(self) -> None:
        """At the server's end: each plugin finishes its background work (its `aclose`),
        then the store closes."""
        if self._key_reloads is not None:
            self._key_reloads.cancel()
        for name, plugin in self.plugins.items():
            try:
                await plugin.aclose()
            except Exception:
                log.exception("plugin %s failed to shut down", name)
        await self.audit.aclose()
        await self.store.close()
