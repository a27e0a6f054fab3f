"""The provider's parts, built once from settings, and the host that plugins talk to."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from authlib.oauth2.rfc6749 import AccessDeniedError
from starlette.requests import Request
from starlette.responses import Response

from idp.account import ACCOUNT_CLIENT_ID, ensure_account_client
from idp.factors import FactorPlugin, set_up_plugins
from idp.i18n import add_messages
from idp.keys import KeyRing
from idp.login.factor_methods import FactorMethods
from idp.login.known_browsers import KnownBrowsers
from idp.login.pipeline import LoginPipeline
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
        self.store = store or open_store(settings.store)
        self.keys = KeyRing(self.store, settings)
        self.passwords = Passwords(settings.passwords)
        self.pages = Pages()
        self.state = LoginState(self.store, settings)
        self.restarts = LoginRestarts(settings)
        self.throttle = LoginThrottle(self.store, settings.login)
        self.rate_limits = RateLimits(self.store, settings.rate_limits)
        self.known_browsers = KnownBrowsers(self.store, settings)
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
        add_messages(folder)

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

    async def application_name(self, login: PendingLogin) -> str | None:
        client_id = login.request.client_id
        if client_id == ACCOUNT_CLIENT_ID:
            return None
        client = await self.store.get_client(client_id)
        return client.name if client else client_id

    async def finish(self, request: Request, login: PendingLogin, amr: Sequence[str]) -> Response:
        methods = [m for m in login.amr if m != "mfa"]
        methods += [m for m in amr if m not in methods]
        if len(methods) > 1:
            methods.append("mfa")
        login.amr = methods
        login.factor_done = True
        return await self.pipeline.resume(request, login)

    async def fail(self, request: Request, login: PendingLogin, reason: str) -> Response:
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

    def restart_url(self, login: PendingLogin) -> str:
        return authorization_url(self.settings.issuer, login.request)

    def other_methods_url(self, login: PendingLogin) -> str:
        return self.factor_methods.url(login)

    async def start(self) -> None:
        """A server begins: the store's upkeep, the signing keys (made where missing, then
        loaded again now and then), and the built-in account client."""
        await self.store.start()
        await self.keys.ensure()
        self._key_reloads = asyncio.create_task(self.keys.keep_loaded())
        await ensure_account_client(self.store, self.settings.issuer)

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
        await self.store.close()
