"""Adding a Pocket device from the account page: the same QR code and waiting page as in
the wizard, for the user of the SSO session. The overview (manage.py) has checked the
current factor before it opened the setup."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from idp.store import User
from plugins.pocket_mfa import views
from plugins.pocket_mfa.browsers import unsupported
from plugins.pocket_mfa.manage import MANAGE_URL, Manage
from plugins.pocket_mfa.wizard_push import WAIT


class ManagePairing(Manage):
    def routes(self) -> list[BaseRoute]:
        return [
            Route("/manage/pair/{setup_id}", self.pair, methods=["GET", "POST"]),
            Route("/manage/pair/{setup_id}/wait", self.wait, methods=["GET"]),
        ]

    async def pair(self, request: Request) -> Response:
        s = self.s
        user = await s.host.session_user(request)
        if user is None:
            return self._no_session(request)
        setup_id = request.path_params["setup_id"]
        if await s.pairings.current(setup_id, user.sub) is None:
            return views.see_other(MANAGE_URL)
        claimed = await self._claim(request, user, setup_id)
        if claimed is not None:
            return claimed
        locale = self._locale(request)
        notice = None
        if request.method == "POST":
            form = await self._checked_form(request, user)
            if isinstance(form, Response):
                return form
            if form.get("action") != "check":
                await s.pairings.drop(setup_id)
                return views.see_other(MANAGE_URL)
            notice = s.host.pages.translator(locale)("pocket.pair.not_yet")
        if unsupported(request):
            # another browser logs in to the account, and links the phone from there
            account = f"{s.host.settings.issuer}/account"
            return views.render(
                s, request, "pocket/unsupported.html", locale, back=MANAGE_URL, restart_url=account
            )
        setup = await s.pairings.open(setup_id, user.sub)
        token = await self._new_token(user.sub)
        view = await views.pair_view(s, setup.uri, locale)
        url = f"{MANAGE_URL}/pair/{setup_id}"
        return views.render(
            s,
            request,
            "pocket/pair.html",
            locale,
            action=url,
            wait_url=f"{url}/wait",
            csrf=token,
            wizard=False,
            notice=notice,
            **view,
        )

    async def _claim(self, request: Request, user: User, setup_id: str) -> Response | None:
        s = self.s
        if await s.pairings.paired(setup_id, user.sub) is None:
            return None
        codes: list[str] = []
        async with s.records.unit():
            if await s.pairings.claim(setup_id):
                left, _ = await s.recovery.remaining(user.sub)
                if not left:
                    codes = await s.recovery.issue(user.sub, s.config.recovery_codes)
        if codes:
            return self._codes_page(request, user, codes)
        return views.see_other(f"{MANAGE_URL}?done=pocket")

    async def wait(self, request: Request) -> Response:
        s = self.s
        setup_id = request.path_params["setup_id"]
        page = f"{MANAGE_URL}/pair/{setup_id}"
        user = await s.host.session_user(request)
        if user is None:
            return views.wait_json(True, page)
        setup = await s.pairings.current(setup_id, user.sub)
        if setup is None:
            return views.wait_json(True, page)
        clock = s.push.pairing.clock
        left = setup.expires_at - clock()
        device = await s.push.pairing.wait_for_pairing(setup.token, max(0.0, min(WAIT, left)))
        return views.wait_json(device is not None or setup.expires_at <= clock(), page)
