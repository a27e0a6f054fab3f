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
- too many pushes (PushLimitError): wait, or use a code instead.

"Use a code instead" (an app code or a recovery code) is offered whenever the user has one.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from idp.login.state import PendingLogin
from idp.store import User
from plugins.pocket_mfa import views
from plugins.pocket_mfa.browsers import describe
from plugins.pocket_mfa.push.challenge import Challenge, Outcome, PushContext
from plugins.pocket_mfa.push.errors import NoDeviceError, PushLimitError
from plugins.pocket_mfa.services import Services
from plugins.pocket_mfa.wizard import AMR_PUSH, factor_url, push_url, verify_url

#: login id -> the challenge of its current push attempt
ATTEMPT_MODEL = "login-push"
ATTEMPT_TTL = 30 * 60
#: how long one long-poll of the waiting page is held open, in seconds
WAIT = 25.0


class PushLogin:
    def __init__(self, s: Services) -> None:
        self.s = s

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/push/{login_id}", self.page, methods=["GET", "POST"]),
            Route("/push/{login_id}/wait", self.wait, methods=["GET"]),
        ]

    async def _load(self, request: Request) -> tuple[PendingLogin, User] | Response:
        return await views.load_login(self.s, request)

    async def _attempt(self, login_id: str, sub: str) -> str | None:
        record = await self.s.records.find(ATTEMPT_MODEL, login_id)
        if record is None or record.get("consumed") or record.get("sub") != sub:
            return None
        return str(record["challenge"])

    # --- the page
    async def page(self, request: Request) -> Response:
        loaded = await self._load(request)
        if isinstance(loaded, Response):
            return loaded
        login, user = loaded
        s = self.s
        if not await s.has_devices(user.sub):
            return views.see_other(await factor_url(s, user.sub, login.id))
        send = False
        if request.method == "POST":
            form = await request.form()
            if not views.csrf_ok(login.csrf, form.get("csrf")):
                return views.csrf_failed(s, request, login.locale)
            action = form.get("action")
            if action == "stop":
                await s.records.destroy(ATTEMPT_MODEL, login.id)
                return await s.host.fail(request, login, "The user cancelled the second factor.")
            send = action == "send"
        challenge_id = await self._attempt(login.id, user.sub)
        if challenge_id is None:
            return await self._send(request, login, user)
        if send and await self._over(challenge_id):
            return await self._send(request, login, user)
        outcome = await s.push.challenges.outcome(challenge_id)
        if outcome is Outcome.APPROVED:
            return await self._approved(request, login)
        if outcome is Outcome.FRAUD:
            return await self._fraud(request, login)
        if outcome is Outcome.PENDING:
            challenge = await s.push.challenges.get(challenge_id)
            assert challenge is not None
            return await self._render(request, login, user, "pending", challenge=challenge)
        return await self._render(request, login, user, outcome.value)

    async def _over(self, challenge_id: str) -> bool:
        """The attempt has ended (a new push may be sent on request)."""
        return await self.s.push.challenges.outcome(challenge_id) is not Outcome.PENDING

    async def _send(self, request: Request, login: PendingLogin, user: User) -> Response:
        s = self.s
        client = await s.host.get_client(login.request.client_id)
        context = PushContext(
            client_name=client.name if client else login.request.client_id,
            ip=request.client.host if request.client else "",
            browser=describe(request),
        )
        try:
            challenge = await s.push.challenges.create(user.sub, context)
        except PushLimitError as e:
            minutes = -(-e.window // 60)
            return await self._render(request, login, user, "limit", minutes=minutes, status=429)
        except NoDeviceError:
            return views.see_other(await factor_url(s, user.sub, login.id))
        payload = {"sub": user.sub, "challenge": challenge.id}
        await s.records.upsert(ATTEMPT_MODEL, login.id, payload, expires_in=ATTEMPT_TTL)
        return views.see_other(push_url(login.id))

    async def _approved(self, request: Request, login: PendingLogin) -> Response:
        s = self.s
        async with s.records.unit():
            used = await s.records.consume(ATTEMPT_MODEL, login.id) is not None
            await s.records.destroy(ATTEMPT_MODEL, login.id)
        if not used:
            return s.host.expired(request, login.locale)
        return await s.host.finish(request, login, AMR_PUSH)

    async def _fraud(self, request: Request, login: PendingLogin) -> Response:
        """The user said "this was not me": end the login, and tell the browser plainly."""
        s = self.s
        await s.records.destroy(ATTEMPT_MODEL, login.id)
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
        login: PendingLogin,
        user: User,
        state: str,
        *,
        challenge: Challenge | None = None,
        status: int = 200,
        **ctx: Any,
    ) -> Response:
        s = self.s
        client = await s.host.get_client(login.request.client_id)
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
            number=challenge.number if challenge and challenge.numbers else None,
            client_name=client.name if client else login.request.client_id,
            wait_url=push_url(login.id, "wait") if challenge else None,
            code_url=verify_url(login.id) if await s.has_code(user.sub) else None,
            **ctx,
        )

    # --- the long-poll of the waiting page
    async def wait(self, request: Request) -> Response:
        page = push_url(request.path_params["login_id"])
        loaded = await self._load(request)
        if isinstance(loaded, Response):
            return views.wait_json(True, page)
        login, user = loaded
        challenge_id = await self._attempt(login.id, user.sub)
        if challenge_id is None:
            return views.wait_json(True, page)
        outcome = await self.s.push.challenges.wait_for_answer(challenge_id, WAIT)
        return views.wait_json(outcome is not Outcome.PENDING, page)
