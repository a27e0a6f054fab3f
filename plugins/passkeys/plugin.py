"""PasskeysFactor: the plugin object that the provider finds by entry point `passkeys`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from idp.factors import (
    AdminMethod,
    EnrolledMethod,
    FactorHost,
    OfferedMethod,
    PasswordlessOption,
    PendingLoginView,
)
from idp.store import User
from plugins.passkeys import passwordless, views
from plugins.passkeys.ceremonies import Ceremonies
from plugins.passkeys.challenges import Challenges
from plugins.passkeys.config import load_config
from plugins.passkeys.login_step import LoginStep, enroll_url, verify_url
from plugins.passkeys.manage import Manage
from plugins.passkeys.passkeys import Passkeys
from plugins.passkeys.relying_party import RelyingParty

HERE = Path(__file__).parent
METHOD = "passkey"


class PasskeysFactor:
    """A passkey (WebAuthn) as the second factor, or alone in place of the password
    (idp.factors.PasswordlessLogin); an administrator lists and removes each one
    (idp.factors.MethodAdmin)."""

    name = "passkeys"

    def __init__(self) -> None:
        self._host: FactorHost | None = None
        self._ceremonies: Ceremonies | None = None

    @property
    def ceremonies(self) -> Ceremonies:
        if self._ceremonies is None:
            raise RuntimeError("the passkeys plugin is used before setup()")
        return self._ceremonies

    @property
    def host(self) -> FactorHost:
        if self._host is None:
            raise RuntimeError("the passkeys plugin is used before setup()")
        return self._host

    # --- FactorPlugin
    def setup(self, host: FactorHost, config: Mapping[str, Any]) -> None:
        settings = load_config(config)
        records = host.records(self.name)
        rp = RelyingParty.for_issuer(host.settings.issuer, settings.rp_name, settings.challenge_ttl)
        self._host = host
        self._ceremonies = Ceremonies(
            host, rp, Passkeys(records), Challenges(records, settings.challenge_ttl)
        )
        host.add_messages(HERE / "locales")

    def routes(self) -> Sequence[BaseRoute]:
        return [
            *LoginStep(self.host, self.ceremonies).routes(),
            *passwordless.Passwordless(self.host, self.ceremonies).routes(),
            *Manage(self.host, self.ceremonies).routes(),
            Mount("/static", StaticFiles(directory=HERE / "static"), name="passkeys-static"),
        ]

    def template_folders(self) -> Sequence[Path]:
        return [HERE / "templates"]

    async def aclose(self) -> None:
        """Nothing runs in the background."""

    async def is_enrolled(self, user: User) -> bool:
        return bool(await self.ceremonies.passkeys.list(user.sub))

    async def offered_methods(self, user: User, locale: str) -> Sequence[OfferedMethod]:
        t = self.host.pages.translator(locale)
        return [
            OfferedMethod(
                plugin=self.name,
                method=METHOD,
                label=t("passkeys.method.label"),
                description=t("passkeys.method.description"),
            )
        ]

    async def begin(
        self,
        request: Request,
        login: PendingLoginView,
        user: User,
        method: str | None = None,
    ) -> Response:
        """Log in with a passkey if the user has one, else create one ("passkey" is the
        one method)."""
        if method not in (None, METHOD):
            raise ValueError(f"the passkeys plugin has no method {method!r}")
        enrolled = await self.is_enrolled(user)
        return views.see_other(verify_url(login.id) if enrolled else enroll_url(login.id))

    async def methods(self, user: User, locale: str = "en") -> Sequence[EnrolledMethod]:
        """Each passkey, by the name the user gave it."""
        return await self.ceremonies.passkeys.list(user.sub)

    async def reset(self, user: User) -> int:
        return await self.ceremonies.passkeys.remove_all(user.sub)

    # --- MethodAdmin
    async def admin_methods(self, user: User) -> Sequence[AdminMethod]:
        return [
            AdminMethod(
                id=p.id,
                kind=METHOD,
                label=p.name,
                created_at=p.created_at,
                last_used=p.last_used,
                device=True,
            )
            for p in await self.ceremonies.passkeys.list(user.sub)
        ]

    async def remove_method(self, user: User, method_id: str) -> bool:
        return await self.ceremonies.passkeys.remove(user.sub, method_id) is not None

    # --- PasswordlessLogin
    def passwordless_option(self, login: PendingLoginView) -> PasswordlessOption:
        return passwordless.option(login)
