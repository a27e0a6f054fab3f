"""The enrollment wizard inside a login, for a user with no second factor yet.

Step 1 of the login is the password; then: choose the method (2, on the host's method
chooser, which lists every plugin's methods and starts the chosen one with
`begin(..., method=...)`), link the authenticator app by QR code and a first code (3),
done with recovery codes (4), shown when the done page first opens and never again
(codes_to_show.py). Pocket push (recommended, preselected) installs the app and pairs it
by QR code in step 3 instead (see wizard_push.py). Stop on any page ends the login without saving
anything. Nothing is enrolled before the first correct code, or the phone's pairing.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from idp.factors import PendingLoginView
from idp.store import User
from plugins.pocket_mfa import views
from plugins.pocket_mfa.browsers import unsupported
from plugins.pocket_mfa.codes_to_show import CodesToShow
from plugins.pocket_mfa.services import Services

PROOF_MODEL = "proof"
#: password, choose, authenticator app or Pocket app, done
STEPS = 4
#: RFC 8176 methods of each way through the wizard (see README, "amr")
AMR_TOTP = ["otp"]
AMR_PUSH = ["swk"]


def enroll_url(login_id: str, page: str = "") -> str:
    return f"{views.PREFIX}/enroll/{login_id}" + (f"/{page}" if page else "")


def verify_url(login_id: str) -> str:
    return f"{views.PREFIX}/verify/{login_id}"


def push_url(login_id: str, page: str = "") -> str:
    return f"{views.PREFIX}/push/{login_id}" + (f"/{page}" if page else "")


async def factor_url(s: Services, sub: str, login_id: str) -> str:
    """Where the factor step of this user's login goes: push, a code, or enroll."""
    if await s.has_devices(sub):
        return push_url(login_id)
    if await s.enrollments.has_totp(sub):
        return verify_url(login_id)
    return enroll_url(login_id)


class Wizard:
    def __init__(self, s: Services) -> None:
        self.s = s
        self.codes = CodesToShow(s.records, s.box, s.config.setup_ttl)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/enroll/{login_id}", self.choose, methods=["GET"]),
            Route("/enroll/{login_id}/app", self.app, methods=["GET", "POST"]),
            Route("/enroll/{login_id}/done", self.done, methods=["GET", "POST"]),
        ]

    # --- shared
    async def _load(self, request: Request) -> tuple[PendingLoginView, User] | Response:
        return await views.load_login(self.s, request)

    async def _form(self, request: Request, login: PendingLoginView) -> dict[str, str] | Response:
        form = await request.form()
        if not views.csrf_ok(login.csrf, form.get("csrf")):
            return views.csrf_failed(self.s, request, login.locale)
        return {k: v for k, v in form.items() if isinstance(v, str)}

    def unsupported_page(self, request: Request, login: PendingLoginView) -> Response:
        """Pocket cannot be linked in this browser: back to the choice (the app works
        here), stop, or start the same login afresh in another browser."""
        restart = self.s.host.restart_url(login)
        back = self.s.host.other_methods_url(login) or enroll_url(login.id)
        return self._page(
            request, login, "pocket/unsupported.html", 3, restart_url=restart, back_url=back
        )

    async def stop(self, request: Request, login: PendingLoginView) -> Response:
        """Leave the wizard: nothing is saved, the login ends (access_denied to the app)."""
        await self.s.setups.drop(login.id)
        return await self.s.host.fail(request, login, "The user stopped the 2FA enrollment.")

    def _page(
        self,
        request: Request,
        login: PendingLoginView,
        template: str,
        step: int,
        status_code: int = 200,
        **ctx: object,
    ) -> Response:
        return views.render(
            self.s,
            request,
            template,
            login.locale,
            status_code=status_code,
            login=login,
            step=step,
            steps=STEPS,
            **ctx,
        )

    # --- step 2: the method is chosen on the host's page, among every plugin's
    async def choose(self, request: Request) -> Response:
        loaded = await self._load(request)
        if isinstance(loaded, Response):
            return loaded
        login, user = loaded
        if await self.s.has_factor(user.sub):
            return views.see_other(await factor_url(self.s, user.sub, login.id))
        chooser = self.s.host.other_methods_url(login)
        return views.see_other(chooser or enroll_url(login.id, "install"))

    # --- step 3: the authenticator app
    async def app(self, request: Request) -> Response:
        loaded = await self._load(request)
        if isinstance(loaded, Response):
            return loaded
        login, user = loaded
        s = self.s
        if await s.has_factor(user.sub):
            return views.see_other(await factor_url(s, user.sub, login.id))
        error, status = None, 200
        if request.method == "POST":
            form = await self._form(request, login)
            if isinstance(form, Response):
                return form
            action = form.get("action")
            if action == "stop":
                return await self.stop(request, login)
            if action == "back":
                return views.see_other(self.s.host.other_methods_url(login) or enroll_url(login.id))
            secret = await s.setups.secret(login.id, user.sub)
            if secret is not None:
                result = await s.checker.check_totp(user.sub, secret, form.get("code", ""))
                if result.ok:
                    return await self._enroll(login, user, secret)
                error = views.refusal(s, login.locale, result.retry_minutes, has_app=True)
                status = 429 if result.retry_minutes else 400
        secret = await s.setups.open(login.id, user.sub)
        # Internet Explorer cannot show the QR code: the key and its details are typed
        view = await views.totp_view(
            s, user, secret, login.locale, with_qr=not unsupported(request)
        )
        return self._page(
            request,
            login,
            "pocket/app.html",
            3,
            action=enroll_url(login.id, "app"),
            csrf=login.csrf,
            wizard=True,
            error=error,
            status_code=status,
            **view,
        )

    async def _enroll(self, login: PendingLoginView, user: User, secret: str) -> Response:
        s = self.s
        async with s.records.unit():
            # a second tab, or another login of the same user, may have enrolled meanwhile
            saved = await s.setups.close(login.id) and not await s.has_factor(user.sub)
            if saved:
                await s.enrollments.save_totp(user.sub, secret)
                await self.prove(login, user, AMR_TOTP)
        if saved:
            await s.host.audit.record(
                "enrolled", sub=user.sub, client=login.client_id, method="totp"
            )
            return views.see_other(enroll_url(login.id, "done"))
        return views.see_other(await factor_url(s, user.sub, login.id))

    async def prove(self, login: PendingLoginView, user: User, amr: list[str]) -> None:
        """The first enrollment of this login is made; its recovery codes are issued now
        and shown once on the done page, which finishes with `amr`. Called inside the
        unit of work that enrolls, so that all of it lands together."""
        s = self.s
        codes = await s.recovery.issue(user.sub, s.config.recovery_codes)
        await self.codes.keep(login.id, user.sub, codes)
        payload = {"sub": user.sub, "amr": amr}
        await s.records.upsert(PROOF_MODEL, login.id, payload, expires_in=s.config.setup_ttl)

    # --- step 4: done
    async def done(self, request: Request) -> Response:
        loaded = await self._load(request)
        if isinstance(loaded, Response):
            return loaded
        login, user = loaded
        s = self.s
        proof = await s.records.find(PROOF_MODEL, login.id)
        if proof is None or proof.get("consumed") or proof.get("sub") != user.sub:
            return views.see_other(await factor_url(s, user.sub, login.id))
        if request.method == "POST":
            form = await self._form(request, login)
            if isinstance(form, Response):
                return form
            async with s.records.unit():
                used = await s.records.consume(PROOF_MODEL, login.id) is not None
                await s.records.destroy(PROOF_MODEL, login.id)
                await self.codes.drop(login.id)
            if not used:
                return s.host.expired(request, login.locale)
            return await s.host.finish(request, login, proof.get("amr") or AMR_TOTP)
        codes = await self.codes.take(login.id, user.sub)
        return self._page(
            request,
            login,
            "pocket/done.html",
            4,
            pocket=proof.get("amr") == AMR_PUSH,
            application=await s.host.application_name(login),
            **(views.codes_view(s, user, codes, login.locale) if codes else {}),
        )
