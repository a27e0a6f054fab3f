"""Confirming a change by push, for the user of an SSO session who has a paired phone:
a factor changed on the manage page, or a new password (the core's account page, through
PocketFactor's ChangeConfirmer methods).

`start` keeps what is to be confirmed, sends a push (number matching, counted by the push
limit as a login's push is) and sends the browser to the waiting page, `confirm/<id>`. It
shows the number and waits: a small script long-polls `confirm/<id>/wait`, which answers
the moment the phone does; without the script the page reloads itself now and then, and
"I have approved it" checks at once. On approval the confirmation is recorded for the SSO
session and the change's `done_url`, and the browser goes there: the change's page takes
it (`take`, once) and makes the change. A deny, a wrong number, fraud or expiry changes
nothing; "Send again" sends a new push (withdrawing the one before), "Cancel" withdraws
the push and goes back to the change's page.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from idp.store import User
from plugins.pocket_mfa import views
from plugins.pocket_mfa.browsers import describe
from plugins.pocket_mfa.push.challenge import Challenge, Outcome, PushContext
from plugins.pocket_mfa.push.errors import NoDeviceError, PushLimitError
from plugins.pocket_mfa.push_attempts import STOPPED, PushAttempts
from plugins.pocket_mfa.push_login import WAIT
from plugins.pocket_mfa.services import Services

#: confirmation id -> the user, the SSO session, what is confirmed and where it leads
CONFIRM_MODEL = "confirm"
CONFIRM_TTL = 15 * 60
#: digest of (SSO session, done_url) -> the user: confirmed, not yet taken
CONFIRMED_MODEL = "confirmed"
CONFIRMED_TTL = 5 * 60
ACCOUNT_URL = "/account"
#: seconds between reloads of the waiting page without JavaScript
RELOAD = 5


def confirm_url(confirm_id: str, page: str = "") -> str:
    return f"{views.PREFIX}/confirm/{confirm_id}" + (f"/{page}" if page else "")


def _confirmed_key(sid: str, done_url: str) -> str:
    return hashlib.sha256(f"{sid}\x00{done_url}".encode()).hexdigest()


class PushConfirmation:
    def __init__(self, s: Services) -> None:
        self.s = s
        #: the confirmation's current push, as a login's (the confirmation id in its place)
        self.attempts = PushAttempts(s.records, s.push.challenges)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/confirm/{confirm_id}", self.page, methods=["GET", "POST"]),
            Route("/confirm/{confirm_id}/wait", self.wait, methods=["GET"]),
        ]

    # --- what the change's page calls
    async def start(
        self, request: Request, user: User, *, purpose: str, done_url: str, back_url: str
    ) -> Response:
        """Ask the phone to confirm `purpose` for this browser's SSO session."""
        session = await self.s.host.session(request)
        if session is None or session.sub != user.sub:
            return views.see_other(back_url)
        confirm_id = secrets.token_urlsafe(18)
        record = {
            "sub": user.sub,
            "sid": session.sid,
            "purpose": purpose,
            "done_url": done_url,
            "back_url": back_url,
            "csrf": secrets.token_urlsafe(18),
        }
        await self.s.records.upsert(CONFIRM_MODEL, confirm_id, record, expires_in=CONFIRM_TTL)
        return await self._send(request, confirm_id, record, None)

    async def take(self, request: Request, user: User, done_url: str) -> bool:
        """Whether this SSO session confirmed the change of `done_url`; True only once."""
        session = await self.s.host.session(request)
        if session is None or session.sub != user.sub:
            return False
        key = _confirmed_key(session.sid, done_url)
        records = self.s.records
        async with records.unit():
            found = await records.consume(CONFIRMED_MODEL, key)
            await records.destroy(CONFIRMED_MODEL, key)
        return found is not None and found.get("sub") == user.sub

    # --- the waiting page
    async def _load(self, request: Request) -> tuple[str, dict[str, Any]] | None:
        """The confirmation named in the path, if it is this browser's SSO session's."""
        confirm_id = request.path_params["confirm_id"]
        session = await self.s.host.session(request)
        record = await self.s.records.find(CONFIRM_MODEL, confirm_id)
        if (
            session is None
            or record is None
            or record.get("consumed")
            or record.get("sub") != session.sub
            or record.get("sid") != session.sid
        ):
            return None
        return confirm_id, record

    def _locale(self, request: Request) -> str:
        return self.s.host.pages.locale_for(request)

    async def page(self, request: Request) -> Response:
        loaded = await self._load(request)
        if loaded is None:
            if await self.s.host.session(request) is None:
                return views.render(
                    self.s, request, "pocket/no_session.html", self._locale(request)
                )
            return views.see_other(ACCOUNT_URL)  # confirmed, cancelled or expired
        confirm_id, record = loaded
        s = self.s
        sub = record["sub"]
        if not await s.has_devices(sub):
            return views.see_other(record["back_url"])
        challenge_id = await self.attempts.current(confirm_id, sub)
        if request.method == "POST":
            form = await request.form()
            if not views.csrf_ok(record["csrf"], form.get("csrf")):
                return views.csrf_failed(s, request, self._locale(request))
            action = form.get("action")
            if action == "cancel":
                await self.attempts.end(confirm_id, sub, STOPPED)
                await s.records.destroy(CONFIRM_MODEL, confirm_id)
                return views.see_other(record["back_url"])
            if action == "send" and form.get("challenge", "") == (challenge_id or ""):
                return await self._send(request, confirm_id, record, challenge_id)
        if challenge_id is None:
            return await self._send(request, confirm_id, record, None)
        outcome = await s.push.challenges.outcome(challenge_id)
        if outcome is Outcome.APPROVED:
            return await self._approved(confirm_id, record)
        if outcome is Outcome.PENDING:
            challenge = await s.push.challenges.get(challenge_id)
            assert challenge is not None
            return await self._render(
                request, confirm_id, record, "pending", challenge_id, challenge
            )
        return await self._render(request, confirm_id, record, outcome.value, challenge_id)

    async def _send(
        self, request: Request, confirm_id: str, record: dict[str, Any], current: str | None
    ) -> Response:
        """A new push for the confirmation; `current` is the challenge it waits on now."""
        s = self.s
        sub = record["sub"]
        context = PushContext(
            client_name=record["purpose"],
            ip=request.client.host if request.client else "",
            browser=describe(request),
        )
        try:
            challenge = await s.push.challenges.create(sub, context, confirm_id)
        except PushLimitError as e:
            minutes = -(-e.window // 60)
            return await self._render(
                request, confirm_id, record, "limit", current, minutes=minutes, status=429
            )
        except NoDeviceError:
            return views.see_other(record["back_url"])
        await self.attempts.start(confirm_id, sub, challenge.id)
        return views.see_other(confirm_url(confirm_id))

    async def _approved(self, confirm_id: str, record: dict[str, Any]) -> Response:
        """Record the confirmation for the change's page, once, and go there."""
        records = self.s.records
        async with records.unit():
            if await self.attempts.use(confirm_id):
                key = _confirmed_key(record["sid"], record["done_url"])
                payload = {"sub": record["sub"]}
                await records.upsert(CONFIRMED_MODEL, key, payload, expires_in=CONFIRMED_TTL)
            await records.destroy(CONFIRM_MODEL, confirm_id)
        return views.see_other(record["done_url"])

    async def _render(
        self,
        request: Request,
        confirm_id: str,
        record: dict[str, Any],
        state: str,
        current: str | None,
        challenge: Challenge | None = None,
        *,
        status: int = 200,
        **ctx: Any,
    ) -> Response:
        wait_url = None
        if challenge is not None:
            wait_url = f"{confirm_url(confirm_id, 'wait')}?challenge={challenge.id}"
        return views.render(
            self.s,
            request,
            "pocket/confirm_push.html",
            self._locale(request),
            status_code=status,
            action=confirm_url(confirm_id),
            csrf=record["csrf"],
            purpose=record["purpose"],
            state=state,
            #: the form's "send again" counts only from a page of the current attempt
            challenge_id=current or "",
            number=challenge.number if challenge and challenge.numbers else None,
            wait_url=wait_url,
            reload=RELOAD,
            **ctx,
        )

    # --- the long-poll of the waiting page
    async def wait(self, request: Request) -> Response:
        page = confirm_url(request.path_params["confirm_id"])
        loaded = await self._load(request)
        if loaded is None:
            return views.wait_json(True, page)
        confirm_id, record = loaded
        challenge_id = await self.attempts.current(confirm_id, record["sub"])
        shown = request.query_params.get("challenge", challenge_id)
        if challenge_id is None or shown != challenge_id:
            return views.wait_json(True, page)  # the page shows a push sent over since
        outcome = await self.s.push.challenges.wait_for_answer(challenge_id, WAIT)
        return views.wait_json(outcome is not Outcome.PENDING, page)
