"""The wizard's Pocket way: install the app, then pair it by scanning a QR code.

The pairing page shows a QR code with a pairing URI (a one-time pairing token and the
issuer). A small script long-polls `pair/wait`, which answers the moment the phone has
paired (or after about 25 s, and then it asks again at once): there is no polling timer.
Without JavaScript, the button "I have scanned the code" checks the same thing. The page
claims the pairing once, issues the recovery codes and moves on to the done page.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from idp.factors import PendingLoginView
from idp.store import User
from plugins.pocket_mfa import views
from plugins.pocket_mfa.browsers import unsupported
from plugins.pocket_mfa.wizard import AMR_PUSH, Wizard, enroll_url, factor_url

#: how long one long-poll of the pairing page is held open, in seconds
WAIT = 25.0


class PushWizard:
    def __init__(self, wizard: Wizard) -> None:
        self.w = wizard
        self.s = wizard.s

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/enroll/{login_id}/install", self.install, methods=["GET", "POST"]),
            Route("/enroll/{login_id}/pair", self.pair, methods=["GET", "POST"]),
            Route("/enroll/{login_id}/pair/wait", self.wait, methods=["GET"]),
        ]

    async def _enrolled(self, login: PendingLoginView, user: User) -> Response | None:
        """Where a user goes who has a factor already (another tab finished the wizard)."""
        if await self.s.has_factor(user.sub):
            return views.see_other(await factor_url(self.s, user.sub, login.id))
        return None

    # --- step 3a: install the app
    async def install(self, request: Request) -> Response:
        loaded = await self.w._load(request)
        if isinstance(loaded, Response):
            return loaded
        login, user = loaded
        enrolled = await self._enrolled(login, user)
        if enrolled is not None:
            return enrolled
        if request.method == "POST":
            form = await self.w._form(request, login)
            if isinstance(form, Response):
                return form
            action = form.get("action")
            if action == "stop":
                return await self.w.stop(request, login)
            if action == "back":
                return views.see_other(self.s.host.other_methods_url(login) or enroll_url(login.id))
            return views.see_other(enroll_url(login.id, "pair"))
        if unsupported(request):
            return self.w.unsupported_page(request, login)
        return self.w._page(
            request,
            login,
            "pocket/install.html",
            3,
            app_store_url=self.s.config.app_store_url,
            play_store_url=self.s.config.play_store_url,
        )

    # --- step 3b: scan the QR code
    async def pair(self, request: Request) -> Response:
        loaded = await self.w._load(request)
        if isinstance(loaded, Response):
            return loaded
        login, user = loaded
        s = self.s
        claimed = await self._claim(login, user)
        if claimed is not None:
            return claimed
        enrolled = await self._enrolled(login, user)
        if enrolled is not None:
            return enrolled
        notice = None
        if request.method == "POST":
            form = await self.w._form(request, login)
            if isinstance(form, Response):
                return form
            action = form.get("action")
            if action == "stop":
                await s.pairings.drop(login.id)
                return await self.w.stop(request, login)
            if action == "back":
                return views.see_other(enroll_url(login.id, "install"))
            # "I have scanned the code": the phone has not paired (yet)
            notice = s.host.pages.translator(login.locale)("pocket.pair.not_yet")
        if unsupported(request):
            return self.w.unsupported_page(request, login)
        setup = await s.pairings.open(login.id, user.sub)
        view = await views.pair_view(s, setup.uri, login.locale)
        return self.w._page(
            request,
            login,
            "pocket/pair.html",
            3,
            action=enroll_url(login.id, "pair"),
            wait_url=enroll_url(login.id, "pair/wait"),
            csrf=login.csrf,
            wizard=True,
            notice=notice,
            **view,
        )

    async def _claim(self, login: PendingLoginView, user: User) -> Response | None:
        """Once the phone has paired: enroll, and on to the done page (only once)."""
        s = self.s
        if await s.pairings.paired(login.id, user.sub) is None:
            return None
        async with s.records.unit():
            if await s.pairings.claim(login.id):
                await self.w.prove(login, user, AMR_PUSH)
        return views.see_other(enroll_url(login.id, "done"))

    # --- the long-poll of the pairing page
    async def wait(self, request: Request) -> Response:
        loaded = await self.w._load(request)
        if isinstance(loaded, Response):
            # the login is gone: the page itself says so
            return views.wait_json(True, enroll_url(request.path_params["login_id"], "pair"))
        login, user = loaded
        s = self.s
        page = enroll_url(login.id, "pair")
        setup = await s.pairings.current(login.id, user.sub)
        if setup is None:
            return views.wait_json(True, page)
        left = setup.expires_at - s.push.pairing.clock()
        device = await s.push.pairing.wait_for_pairing(setup.token, max(0.0, min(WAIT, left)))
        # paired: the page claims it; expired: the page shows a fresh code
        done = device is not None or setup.expires_at <= s.push.pairing.clock()
        return views.wait_json(done, page)
