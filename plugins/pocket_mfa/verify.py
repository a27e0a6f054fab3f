"""The second-factor step of a login by code: a code from the app, or a recovery code in
its place. A user with a Pocket phone comes here by "use a code instead" and can go back
to the push page; a push still open for the login is withdrawn when the login ends here."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from idp.factors import REMEMBER_FIELD
from plugins.pocket_mfa import views
from plugins.pocket_mfa.push_attempts import CODE_USED, STOPPED, PushAttempts
from plugins.pocket_mfa.services import Services
from plugins.pocket_mfa.wizard import AMR_TOTP, factor_url, push_url


class Verification:
    def __init__(self, s: Services) -> None:
        self.s = s
        self.attempts = PushAttempts(s.records, s.push.challenges)

    def routes(self) -> list[BaseRoute]:
        return [Route("/verify/{login_id}", self.verify, methods=["GET", "POST"])]

    async def verify(self, request: Request) -> Response:
        s = self.s
        host = s.host
        login = await host.load_login(request, request.path_params["login_id"])
        if login is None or login.sub is None:
            return host.expired(request)
        sub = login.sub
        if not await s.has_code(sub):
            return views.see_other(await factor_url(s, sub, login.id))
        error, status = None, 200
        has_app = await s.enrollments.has_totp(sub)
        if request.method == "POST":
            form = await request.form()
            if not views.csrf_ok(login.csrf, form.get("csrf")):
                return views.csrf_failed(s, request, login.locale)
            if form.get("action") == "stop":
                await self.attempts.end(login.id, sub, STOPPED)
                return await host.fail(request, login, "The user cancelled the second factor.")
            code = form.get("code")
            result = await s.checker.check_login(sub, code if isinstance(code, str) else "")
            if result.ok:
                await self.attempts.end(login.id, sub, CODE_USED)
                remember = form.get(REMEMBER_FIELD) == "1"
                return await host.finish(request, login, AMR_TOTP, remember=remember)
            host.metrics.login("throttled" if result.retry_minutes else "wrong_code", "otp")
            error = views.refusal(s, login.locale, result.retry_minutes, has_app=has_app)
            status = 429 if result.retry_minutes else 400
        return views.render(
            s,
            request,
            "pocket/verify.html",
            login.locale,
            status_code=status,
            login=login,
            step=2,
            steps=2,
            error=error,
            digits=s.params.digits,
            has_app=has_app,
            push_url=push_url(login.id) if await s.has_devices(sub) else None,
            remember_days=await host.remember_days(login),
            other_methods_url=host.other_methods_url(login),
        )
