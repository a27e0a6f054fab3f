"""Logging in with a passkey alone, from the core login page (idp.factors.
PasswordlessLogin): its script asks here for options (any discoverable passkey of this
site, user verification required) and posts the browser's answer back as a form.

A passkey that verified its user is two factors in one (the key, and the PIN or
biometric that unlocked it): the login gets amr "swk", "user" and "mfa", and so the
acr of a login with a second factor. One that did not verify the user is refused here:
the password is the way in then."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from idp.factors import FactorHost, PasswordlessOption, PendingLoginView
from plugins.passkeys import views
from plugins.passkeys.ceremonies import Ceremonies, amr_for
from plugins.passkeys.errors import PasskeyRefused

PURPOSE = "passwordless"


def passwordless_url(login_id: str) -> str:
    return f"{views.PREFIX}/passwordless/{login_id}"


def option(login: PendingLoginView) -> PasswordlessOption:
    return PasswordlessOption(
        label="passkeys.passwordless.button",
        script=views.SCRIPT,
        url=passwordless_url(login.id),
        autocomplete="webauthn",
    )


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


class Passwordless:
    def __init__(self, host: FactorHost, ceremonies: Ceremonies) -> None:
        self.host = host
        self.ceremonies = ceremonies

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/passwordless/{login_id}/options", self.options, methods=["POST"]),
            Route("/passwordless/{login_id}", self.answer, methods=["POST"]),
        ]

    def _json_error(self, locale: str, reason: str, status: int) -> Response:
        message = views.refusal(self.host, locale, reason)
        return JSONResponse({"error": reason, "message": message}, status, views.NO_STORE)

    async def options(self, request: Request) -> Response:
        """{challenge_id, options}: what navigator.credentials.get() needs."""
        if await self.host.rate_limits.retry_after("login", _address(request)) is not None:
            return self._json_error(self.host.pages.locale_for(request), "rate_limited", 429)
        login = await self.host.load_login(request, request.path_params["login_id"])
        if login is None:
            return self._json_error(self.host.pages.locale_for(request), "expired", 400)
        form = await request.form()
        if not views.csrf_ok(login.csrf, form.get("csrf")):
            return self._json_error(login.locale, "expired", 403)
        challenge_id, options = await self.ceremonies.start_authentication(
            PURPOSE, login.id, None, "required"
        )
        t = self.host.pages.translator(login.locale)
        messages = {k: t(f"passkeys.error.{k}") for k in ("cancelled", "timeout", "failed")}
        body = {"challenge_id": challenge_id, "options": json.loads(options), "messages": messages}
        return JSONResponse(body, headers=views.NO_STORE)

    async def answer(self, request: Request) -> Response:
        host = self.host
        if await host.rate_limits.retry_after("login", _address(request)) is not None:
            return self._failed(request, None, "rate_limited", 429)
        login = await host.load_login(request, request.path_params["login_id"])
        if login is None:
            return host.expired(request)
        form = await request.form()
        if not views.csrf_ok(login.csrf, form.get("csrf")):
            return views.csrf_failed(host, request, login.locale)
        try:
            passkey, assertion = await self.ceremonies.finish_authentication(
                PURPOSE, login.id, form.get("challenge_id"), form.get("credential"), None
            )
            if not assertion.user_verified:
                raise PasskeyRefused("no_verification", "passwordless without user verification")
            user = await host.get_user(passkey.sub)
            if user is None or user.disabled:
                raise PasskeyRefused("unknown", "the passkey's user is gone or disabled")
        except PasskeyRefused as refused:
            host.metrics.login("wrong_passkey", "swk")
            return self._failed(request, login, refused.reason, 400)
        return await host.finish_passwordless(request, login, user, [*amr_for(True), "mfa"])

    def _failed(
        self, request: Request, login: PendingLoginView | None, reason: str, status: int
    ) -> Response:
        """The refusal, with the way back to the login page."""
        locale = login.locale if login else self.host.pages.locale_for(request)
        return views.render(
            self.host,
            request,
            "passkeys/passwordless_failed.html",
            locale,
            status_code=status,
            error=views.refusal(self.host, locale, reason),
            back_url=f"/login/{login.id}" if login else None,
        )
