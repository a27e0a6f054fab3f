"""The second-factor step by Pocket push, for a user with a paired phone.

Arriving here sends one push challenge to the user's phones. The page shows the number
to tap (number matching), the application's name, and waits: a small script long-polls
`push/<login>/wait`, which answers the moment the phone does (no polling timer). Then the
page looks at the outcome:

- approved: the step is finished (amr "swk", see README);
- denied, wrong number, expired: the attempt is over; nothing is sent again until the
  user presses "send again";
- fraud ("this was not me"): the login fails, with a page that says so (audited by the
  answer check);
- too many pushes (PushLimitError): wait, or use a code instead (then the page's main
  action).

"Send again" sends a new push and withdraws the one before, still open or not; "Stop"
withdraws the open push and ends the login (see push_attempts.py). Each form names the
challenge it was shown with: a "send again" from a page that another request has
overtaken (a double click, a second tab) sends nothing, it shows the push under way.
"Use a code instead" (an app code or a recovery code) is offered whenever the user has one.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from idp.factors import REMEMBER_FIELD, PendingLoginView
from idp.store import User
from plugins.pocket_mfa import views
from plugins.pocket_mfa.browsers import describe
from plugins.pocket_mfa.push.challenge import Challenge, Outcome, PushContext
from plugins.pocket_mfa.push.errors import NoDeviceError, PushLimitError
from plugins.pocket_mfa.push_attempts import STOPPED, PushAttempts
from plugins.pocket_mfa.services import Services
from plugins.pocket_mfa.wizard import AMR_PUSH, factor_url, push_url, verify_url

#: how long one long-poll of the waiting page is held open, in seconds
WAIT = 25.0


class PushLogin:
    def __init__(self, s: Services) -> None:
        self.s = s
        self.attempts = PushAttempts(s.records, s.push.challenges)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/push/{login_id}", self.page, methods=["GET", "POST"]),
            Route("/push/{login_id}/wait", self.wait, methods=["GET"]),
        ]

    async def _load(self, request: Request) -> tuple[PendingLoginView, User] | Response:
        return await views.load_login(self.s, request)

    # --- the page
    async def page(self, request: Request) -> Response:
        loaded = await self._load(request)
        if isinstance(loaded, Response):
            return loaded
        login, user = loaded
        s = self.s
        if not await s.has_devices(user.sub):
            return views.see_other(await factor_url(s, user.sub, login.id))
        challenge_id = await self.attempts.current(login.id, user.sub)
        remember = False
        if request.method == "POST":
            form = await request.form()
            remember = form.get(REMEMBER_FIELD) == "1"
            if not views.csrf_ok(login.csrf, form.get("csrf")):
                return views.csrf_failed(s, request, login.locale)
            action = form.get("action")
            if action == "stop":
                await self.attempts.end(login.id, user.sub, STOPPED)
                return await s.host.fail(request, login, "The user cancelled the second factor.")
            if action == "send" and form.get("challenge", "") == (challenge_id or ""):
                return await self._send(request, login, user, challenge_id)
        if challenge_id is None:
            return await self._send(request, login, user, None)
        outcome = await s.push.challenges.outcome(challenge_id)
        if outcome is Outcome.APPROVED:
            return await self._approved(request, login, remember)
        if outcome is Outcome.FRAUD:
            return await self._fraud(request, login, user)
        if outcome is Outcome.PENDING:
            challenge = await s.push.challenges.get(challenge_id)
            assert challenge is not None
            return await self._render(request, login, user, "pending", challenge_id, challenge)
        return await self._render(request, login, user, outcome.value, challenge_id)

    async def _send(
        self, request: Request, login: PendingLoginView, user: User, current: str | None
    ) -> Response:
        """Send a new push for the login; `current` is the challenge it waits on now."""
        s = self.s
        client = await s.host.get_client(login.client_id)
        context = PushContext(
            client_name=client.name if client else login.client_id,
            ip=request.client.host if request.client else "",
            browser=describe(request),
        )
        try:
            challenge = await s.push.challenges.create(user.sub, context, login.id)
        except PushLimitError as e:
            minutes = -(-e.window // 60)
            return await self._render(
                request, login, user, "limit", current, minutes=minutes, status=429
            )
        except NoDeviceError:
            return views.see_other(await factor_url(s, user.sub, login.id))
        await self.attempts.start(login.id, user.sub, challenge.id)
        return views.see_other(push_url(login.id))

    async def _approved(
        self, request: Request, login: PendingLoginView, remember: bool
    ) -> Response:
        """The phone approved; `remember`: the page's checkbox was ticked (its script
        then continues with the page's form rather than by following the link)."""
        s = self.s
        if not await self.attempts.use(login.id):
            return s.host.expired(request, login.locale)
        return await s.host.finish(request, login, AMR_PUSH, remember=remember)

    async def _fraud(self, request: Request, login: PendingLoginView, user: User) -> Response:
        """The user said "this was not me": end the login, and tell the browser plainly."""
        s = self.s
        await self.attempts.end(login.id, user.sub, STOPPED)
        back = await s.host.fail(request, login, "The login was denied and reported as fraud.")
        return views.render(
            s,
            request,
            "pocket/push_fraud.html",
            login.locale,
            status_code=403,
            back=back.headers.get("location", ""),
        )

    async def _render(
        self,
        request: Request,
        login: PendingLoginView,
        user: User,
        state: str,
        current: str | None,
        challenge: Challenge | None = None,
        *,
        status: int = 200,
        **ctx: Any,
    ) -> Response:
        s = self.s
        client = await s.host.get_client(login.client_id)
        return views.render(
            s,
            request,
            "pocket/push.html",
            login.locale,
            status_code=status,
            login=login,
            step=2,
            steps=2,
            state=state,
            challenge=challenge,
            #: the form's "send again" counts only from a page of the current attempt
            challenge_id=current or "",
            number=challenge.number if challenge and challenge.numbers else None,
            client_name=client.name if client else login.client_id,
            wait_url=f"{push_url(login.id, 'wait')}?challenge={challenge.id}"
            if challenge
            else None,
            code_url=verify_url(login.id) if await s.has_code(user.sub) else None,
            remember_days=await s.host.remember_days(login),
            other_methods_url=s.host.other_methods_url(login),
            **ctx,
        )

    # --- the long-poll of the waiting page
    async def wait(self, request: Request) -> Response:
        page = push_url(request.path_params["login_id"])
        loaded = await self._load(request)
        if isinstance(loaded, Response):
            return views.wait_json(True, page)
        login, user = loaded
        challenge_id = await self.attempts.current(login.id, user.sub)
        shown = request.query_params.get("challenge", challenge_id)
        if challenge_id is None or shown != challenge_id:
            return views.wait_json(True, page)  # the page shows a push sent over since
        outcome = await self.s.push.challenges.wait_for_answer(challenge_id, WAIT)
        return views.wait_json(outcome is not Outcome.PENDING, page)
