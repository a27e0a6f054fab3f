"""PocketFactor: the plugin object that the provider finds by entry point `pocket`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from idp.factors import EnrolledMethod, FactorHost
from idp.i18n import add_messages
from idp.login.state import PendingLogin
from idp.offload import run_sync
from idp.store import User
from plugins.pocket_mfa import views
from plugins.pocket_mfa.config import load_config, resolve_key
from plugins.pocket_mfa.manage import Manage
from plugins.pocket_mfa.services import Services
from plugins.pocket_mfa.verify import Verification
from plugins.pocket_mfa.wizard import Wizard, enroll_url, verify_url

HERE = Path(__file__).parent


class PocketFactor:
    """Second factor by authenticator app (TOTP, RFC 6238) and recovery codes, with an
    enrollment wizard; Pocket push login comes with device pairing."""

    name = "pocket"

    def __init__(self) -> None:
        self._services: Services | None = None

    @property
    def services(self) -> Services:
        if self._services is None:
            raise RuntimeError("the pocket plugin is used before setup()")
        return self._services

    # --- FactorPlugin
    def setup(self, host: FactorHost, config: Mapping[str, Any]) -> None:
        settings = load_config(config)
        key = resolve_key(settings, host.settings.store.path)
        self._services = Services.build(host, settings, key)
        add_messages(HERE / "locales")

    def routes(self) -> Sequence[BaseRoute]:
        s = self.services
        return [
            *Wizard(s).routes(),
            *Verification(s).routes(),
            *Manage(s).routes(),
            views.help_route(s),
            Mount("/static", StaticFiles(directory=HERE / "static"), name="pocket-static"),
        ]

    def template_folders(self) -> Sequence[Path]:
        return [HERE / "templates"]

    def is_enrolled(self, user: User) -> bool:
        return self.services.enrollments.has_totp(user.sub)

    async def begin(self, request: Request, login: PendingLogin, user: User) -> Response:
        if await run_sync(self.is_enrolled, user):
            return views.see_other(verify_url(login.id))
        return views.see_other(enroll_url(login.id))

    def methods(self, user: User) -> Sequence[EnrolledMethod]:
        return self.services.enrollments.methods(user.sub)

    def reset(self, user: User) -> int:
        s = self.services
        removed = s.enrollments.remove_all(user.sub)
        # a fresh start: the user can enroll again without waiting out a lockout
        s.checker.unlock(user.sub)
        return removed
