"""PocketFactor: the plugin object that the provider finds by entry point `pocket`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from idp.factors import (
    DEFAULT_LOCALE,
    AdminMethod,
    CodeCheck,
    ConfirmWays,
    EnrolledMethod,
    FactorHost,
    OfferedMethod,
    PendingLoginView,
)
from idp.store import User
from plugins.pocket_mfa import admin_methods, views
from plugins.pocket_mfa.config import load_config, resolve_key
from plugins.pocket_mfa.manage import Manage
from plugins.pocket_mfa.manage_confirm import ManageConfirmation
from plugins.pocket_mfa.manage_pair import ManagePairing
from plugins.pocket_mfa.manage_remove import ManageRemoval
from plugins.pocket_mfa.push.api import device_routes
from plugins.pocket_mfa.push_confirm import PushConfirmation
from plugins.pocket_mfa.push_login import PushLogin
from plugins.pocket_mfa.services import Services
from plugins.pocket_mfa.verify import Verification
from plugins.pocket_mfa.wizard import Wizard, enroll_url, factor_url, push_url, verify_url
from plugins.pocket_mfa.wizard_push import PushWizard

HERE = Path(__file__).parent


class PocketFactor:
    """Second factor by Pocket push (a paired phone signs its approval) or by authenticator
    app (TOTP, RFC 6238), recovery codes, and an enrollment wizard. It confirms changes
    on the account pages too (idp.factors.ChangeConfirmer): by a code, or on the phone;
    an administrator lists and removes each method (idp.factors.MethodAdmin)."""

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
        key = resolve_key(settings, host.settings.store.local_folder, create=host.serving)
        self._services = Services.build(host, self.name, settings, key)
        host.add_messages(HERE / "locales")

    def routes(self) -> Sequence[BaseRoute]:
        s = self.services
        wizard = Wizard(s)
        return [
            *wizard.routes(),
            *PushWizard(wizard).routes(),
            *Verification(s).routes(),
            *PushLogin(s).routes(),
            *Manage(s).routes(),
            *ManagePairing(s).routes(),
            *ManageRemoval(s).routes(),
            *ManageConfirmation(s).routes(),
            *PushConfirmation(s).routes(),
            views.help_route(s),
            Mount("/api/v1", routes=device_routes(s.push, s.host.rate_limits)),
            Mount("/static", StaticFiles(directory=HERE / "static"), name="pocket-static"),
        ]

    def template_folders(self) -> Sequence[Path]:
        return [HERE / "templates"]

    async def aclose(self) -> None:
        """At shutdown: push deliveries still under way finish or are cancelled."""
        if self._services is not None:
            await self._services.push.aclose()

    async def is_enrolled(self, user: User) -> bool:
        return await self.services.has_factor(user.sub)

    async def offered_methods(self, user: User, locale: str) -> Sequence[OfferedMethod]:
        """Push and the authenticator app that the user has (push first); for a user
        with neither, both to enroll, Pocket push recommended."""
        s = self.services
        t = s.host.pages.translator(locale)
        push = OfferedMethod(
            self.name, "push", t("pocket.choose.push"), t("pocket.choose.push_text"), True
        )
        app = OfferedMethod(self.name, "totp", t("pocket.choose.app"), t("pocket.choose.app_text"))
        if not await s.has_factor(user.sub):
            return [push, app]
        has_push, has_app = await s.has_devices(user.sub), await s.enrollments.has_totp(user.sub)
        return [m for m, has in ((push, has_push), (app, has_app)) if has]

    async def begin(
        self,
        request: Request,
        login: PendingLoginView,
        user: User,
        method: str | None = None,
    ) -> Response:
        """Push if the user has a phone, else a code, else the enrollment wizard; with a
        method, that one (its enrollment only for a user with no factor yet)."""
        s = self.services
        if method == "push" and await s.has_devices(user.sub):
            return views.see_other(push_url(login.id))
        if method == "totp" and await s.enrollments.has_totp(user.sub):
            return views.see_other(verify_url(login.id))
        if method in ("push", "totp") and not await s.has_factor(user.sub):
            return views.see_other(enroll_url(login.id, "install" if method == "push" else "app"))
        return views.see_other(await factor_url(s, user.sub, login.id))

    async def methods(self, user: User, locale: str = DEFAULT_LOCALE) -> Sequence[EnrolledMethod]:
        """The authenticator app, each Pocket device (kind "pocket", by the name it was
        paired with), the recovery codes."""
        s = self.services
        found: list[EnrolledMethod] = list(
            await s.enrollments.methods(user.sub, s.host.pages.translator(locale))
        )
        at = next((i for i, m in enumerate(found) if m.kind == "recovery codes"), len(found))
        found[at:at] = await s.push.devices.list(user.sub)
        return found

    # --- MethodAdmin
    async def admin_methods(self, user: User) -> Sequence[AdminMethod]:
        """The authenticator app ("totp"), each phone (by its device id), the recovery
        codes ("recovery-codes")."""
        return await admin_methods.admin_methods(self.services, user)

    async def remove_method(self, user: User, method_id: str) -> bool:
        return await admin_methods.remove_method(self.services, user, method_id)

    # --- ChangeConfirmer
    async def ways(self, user: User) -> ConfirmWays:
        """A code if the user has one (app or recovery code), the phone if paired."""
        s = self.services
        return ConfirmWays(
            code_label="pocket.manage.current" if await s.has_code(user.sub) else None,
            button_label="pocket.confirm.button" if await s.has_devices(user.sub) else None,
        )

    async def check_code(self, user: User, code: str) -> CodeCheck:
        result = await self.services.checker.check_login(user.sub, code)
        return CodeCheck(result.ok, result.retry_minutes)

    async def start_confirmation(
        self, request: Request, user: User, *, purpose: str, done_url: str, back_url: str
    ) -> Response:
        confirmation = PushConfirmation(self.services)
        return await confirmation.start(
            request, user, purpose=purpose, done_url=done_url, back_url=back_url
        )

    async def take_confirmation(self, request: Request, user: User, done_url: str) -> bool:
        return await PushConfirmation(self.services).take(request, user, done_url)

    async def reset(self, user: User) -> int:
        """Everything the user enrolled goes, together, and so does a lockout."""
        s = self.services
        async with s.records.unit():
            devices = await s.push.devices.reset(user.sub)
            if devices:
                await s.push.audit.record("devices_reset", sub=user.sub, count=devices)
            removed = await s.enrollments.remove_all(user.sub) + devices
            # a fresh start: the user can enroll again without waiting out a lockout
            await s.checker.unlock(user.sub)
        return removed
