"""The plugins' host in the `idp` command: the settings and the store, and no browser.

A command administers the store; it serves no page, so no login, session or browser ever
reaches the plugins through it (FactorHost.serving is False, and a plugin makes no files
of its own for it). Building the whole provider for that would make everything a server
needs, for nothing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import Response

from idp.audit import AuditTrail
from idp.factors import FactorPlugin, PendingLoginView, Postponement, set_up_plugins
from idp.login.state import SsoSession
from idp.metrics import Metrics
from idp.offload import run_slow
from idp.pages import Pages
from idp.rate_limits import RateLimits
from idp.settings import Settings
from idp.store import Client, Store, User
from idp.store.base import RecordView

T = TypeVar("T")


class NoBrowser(RuntimeError):
    """A plugin asked a command's host to carry on a login: a command has none."""


class CommandHost:
    serving = False

    def __init__(self, settings: Settings, store: Store, audit: AuditTrail) -> None:
        self.settings = settings
        self.store = store
        #: the command's trail: its events name "cli" as the actor
        self.audit = audit
        self.pages = Pages()
        #: a command serves nothing: what plugins count here is never shown
        self.metrics = Metrics()
        #: nor does it answer requests to limit; these are the server's limits all the same
        self.rate_limits = RateLimits(store, settings.rate_limits)

    def records(self, namespace: str) -> RecordView:
        return self.store.records(namespace)

    async def run_blocking(self, fn: Callable[..., T], *args: Any) -> T:
        return await run_slow(fn, *args)

    def add_messages(self, folder: Path) -> None:
        self.pages.catalogue.add(folder)

    async def get_user(self, sub: str) -> User | None:
        return await self.store.get_user(sub)

    async def get_client(self, client_id: str) -> Client | None:
        return await self.store.get_client(client_id)

    # --- the browser's parts: a command has no pending login and no session
    async def load_login(self, request: Request, login_id: str) -> PendingLoginView | None:
        return None

    async def session_user(self, request: Request) -> User | None:
        return None

    async def session(self, request: Request) -> SsoSession | None:
        return None

    async def application_name(self, login: PendingLoginView) -> str | None:
        return None

    async def finish(
        self,
        request: Request,
        login: PendingLoginView,
        amr: Sequence[str],
        *,
        remember: bool = False,
    ) -> Response:
        raise NoBrowser("a command has no login to finish")

    async def remember_days(self, login: PendingLoginView) -> int:
        return 0

    async def postponement(self, login: PendingLoginView) -> Postponement | None:
        return None

    async def fail(self, request: Request, login: PendingLoginView, reason: str) -> Response:
        raise NoBrowser("a command has no login to end")

    def expired(self, request: Request, locale: str | None = None) -> Response:
        raise NoBrowser("a command shows no pages")

    def restart_url(self, login: PendingLoginView) -> str:
        raise NoBrowser("a command has no login to start again")

    async def finish_passwordless(
        self, request: Request, login: PendingLoginView, user: User, amr: Sequence[str]
    ) -> Response:
        raise NoBrowser("a command has no login to finish")

    def other_methods_url(self, login: PendingLoginView) -> str:
        raise NoBrowser("a command has no login to choose a method for")


def command_plugins(settings: Settings, store: Store, audit: AuditTrail) -> dict[str, FactorPlugin]:
    """The enabled second-factor plugins, set up for a command."""
    return set_up_plugins(CommandHost(settings, store, audit))
