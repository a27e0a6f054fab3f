"""The second-factor step of a login: create a passkey (a user without one), or log in
with one. Each page carries a fresh challenge; its script asks the browser and posts the
answer back as a form, so the step ends in an ordinary navigation (host.finish)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from idp.factors import REMEMBER_FIELD, FactorHost, PendingLoginView
from idp.store import User
from plugins.passkeys import views
from plugins.passkeys.ceremonies import Ceremonies, amr_for
from plugins.passkeys.errors import PasskeyRefused


def enroll_url(login_id: str) -> str:
    return f"{views.PREFIX}/enroll/{login_id}"


def verify_url(login_id: str) -> str:
    return f"{views.PREFIX}/login/{login_id}"


class LoginStep:
    def __init__(self, host: FactorHost, ceremonies: Ceremonies) -> None:
        self.host = host
        self.ceremonies = ceremonies

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/enroll/{login_id}", self.enroll, methods=["GET", "POST"]),
            Route("/login/{login_id}", self.verify, methods=["GET", "POST"]),
        ]

    async def step_url(self, sub: str, login_id: str) -> str:
        """Log in with a passkey if the user has one, else create one."""
        if await self.ceremonies.passkeys.list(sub):
            return verify_url(login_id)
        return enroll_url(login_id)

    async def _form(self, request: Request, login: PendingLoginView) -> dict[str, str] | Response:
        form = await request.form()
        if not views.csrf_ok(login.csrf, form.get("csrf")):
            return views.csrf_failed(self.host, request, login.locale)
        return {k: v for k, v in form.items() if isinstance(v, str)}

    # --- a new passkey, inside the login
    async def enroll(self, request: Request) -> Response:
        loaded = await views.load_login(self.host, request)
        if isinstance(loaded, Response):
            return loaded
        login, user = loaded
        if await self.ceremonies.passkeys.list(user.sub):
            return views.see_other(verify_url(login.id))
        t = self.host.pages.translator(login.locale)
        error, status, name = None, 200, t("passkeys.enroll.default_name")
        if request.method == "POST":
            form = await self._form(request, login)
            if isinstance(form, Response):
                return form
            if form.get("action") == "stop":
                return await self.host.fail(request, login, "The user stopped the enrollment.")
            name = form.get("name", "").strip() or name
            try:
                _, verified = await self.ceremonies.finish_registration(
                    user, "enroll", login.id, form.get("challenge_id"), form.get("credential"), name
                )
            except PasskeyRefused as refused:
                error, status = views.refusal(self.host, login.locale, refused.reason), 400
            else:
                await self.host.audit.record(
                    "enrolled", sub=user.sub, request=request, method="passkey", name=name
                )
                return await self.host.finish(request, login, amr_for(verified))
        return await self._enroll_page(request, login, user, name, error, status)

    async def _enroll_page(
        self,
        request: Request,
        login: PendingLoginView,
        user: User,
        name: str,
        error: str | None,
        status: int,
    ) -> Response:
        challenge_id, options = await self.ceremonies.start_registration(user, "enroll", login.id)
        return views.render(
            self.host,
            request,
            "passkeys/enroll.html",
            login.locale,
            status_code=status,
            login=login,
            error=error,
            name=name,
            challenge_id=challenge_id,
            options=options,
        )

    # --- a passkey as the second factor
    async def verify(self, request: Request) -> Response:
        loaded = await views.load_login(self.host, request)
        if isinstance(loaded, Response):
            return loaded
        login, user = loaded
        if not await self.ceremonies.passkeys.list(user.sub):
            return views.see_other(enroll_url(login.id))
        error, status = None, 200
        if request.method == "POST":
            form = await self._form(request, login)
            if isinstance(form, Response):
                return form
            if form.get("action") == "stop":
                return await self.host.fail(request, login, "The user cancelled the passkey.")
            try:
                _, assertion = await self.ceremonies.finish_authentication(
                    "verify", login.id, form.get("challenge_id"), form.get("credential"), user.sub
                )
            except PasskeyRefused as refused:
                self.host.metrics.login("wrong_passkey", "swk")
                error, status = views.refusal(self.host, login.locale, refused.reason), 400
            else:
                remember = form.get(REMEMBER_FIELD) == "1"
                amr = amr_for(assertion.user_verified)
                return await self.host.finish(request, login, amr, remember=remember)
        challenge_id, options = await self.ceremonies.start_authentication(
            "verify", login.id, user.sub, "preferred"
        )
        return views.render(
            self.host,
            request,
            "passkeys/verify.html",
            login.locale,
            status_code=status,
            login=login,
            error=error,
            challenge_id=challenge_id,
            options=options,
            remember_days=await self.host.remember_days(login),
            other_methods_url=self.host.other_methods_url(login),
        )
