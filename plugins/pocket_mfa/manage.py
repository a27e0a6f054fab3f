"""The account page for Pocket: see what is enrolled, add or replace the authenticator
app (confirmed by a correct code), list, add (by pairing, manage_pair.py) and remove
(after a confirmation, manage_remove.py) Pocket devices, and get new recovery codes.

It serves the user of the browser's SSO session. Each form carries a token made for
that page and that user, kept in the store and usable once.

A change to factors that exist is confirmed by one of them: a code (an authenticator
code or a recovery code), or, for a user with a phone, an approval on the phone: the
change waits (changes.py) while the phone is asked (push_confirm.py), and is made once
it approves (manage_confirm.py). A user with a phone and no code to type may also change
things without either for a few minutes after a login with Pocket.
"""

from __future__ import annotations

import secrets
import time

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from idp.store import User
from plugins.pocket_mfa import views
from plugins.pocket_mfa.browsers import unsupported
from plugins.pocket_mfa.changes import PendingChanges
from plugins.pocket_mfa.push_confirm import PushConfirmation
from plugins.pocket_mfa.services import Services

PAGE_MODEL = "page"
PAGE_TTL = 30 * 60
MANAGE_URL = f"{views.PREFIX}/manage"
#: notice token -> the name of the phone just removed, for the overview's message
REMOVED_MODEL = "removed"
REMOVED_TTL = 10 * 60
#: a user with a phone but no code to type may change factors this long after a push login
FRESH_PUSH = 5 * 60


def _date(when: int) -> str:
    return time.strftime("%Y-%m-%d", time.localtime(when)) if when else ""


def remove_url(device_id: str) -> str:
    return f"{MANAGE_URL}/remove/{device_id}"


def confirm_step_url(change_id: str) -> str:
    """The page that asks how to confirm a change of the overview."""
    return f"{MANAGE_URL}/confirm/{change_id}"


def confirmed_url(change_id: str) -> str:
    """Where the phone's approval of a change leads: the change is made there."""
    return f"{MANAGE_URL}/confirmed/{change_id}"


def when_text(when: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(when)) if when else ""


class Manage:
    def __init__(self, s: Services) -> None:
        self.s = s
        self.changes = PendingChanges(s.records)
        self.confirm = PushConfirmation(s)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/manage", self.overview, methods=["GET", "POST"]),
            Route("/manage/app/{setup_id}", self.app, methods=["GET", "POST"]),
        ]

    # --- shared
    def _locale(self, request: Request) -> str:
        return self.s.host.pages.locale_for(request)

    async def _new_token(self, sub: str) -> str:
        token = secrets.token_urlsafe(18)
        await self.s.records.upsert(PAGE_MODEL, token, {"sub": sub}, expires_in=PAGE_TTL)
        return token

    async def _token_ok(self, token: object, sub: str) -> bool:
        if not isinstance(token, str) or not token:
            return False
        records = self.s.records
        async with records.unit():
            record = await records.consume(PAGE_MODEL, token)
            await records.destroy(PAGE_MODEL, token)
        return record is not None and record.get("sub") == sub

    async def _checked_form(self, request: Request, user: User) -> dict[str, str] | Response:
        form = await request.form()
        if not await self._token_ok(form.get("csrf"), user.sub):
            return views.csrf_failed(self.s, request, self._locale(request))
        return {k: v for k, v in form.items() if isinstance(v, str)}

    def _no_session(self, request: Request) -> Response:
        return views.render(self.s, request, "pocket/no_session.html", self._locale(request))

    def _codes_page(self, request: Request, user: User, codes: list[str]) -> Response:
        locale = self._locale(request)
        view = views.codes_view(self.s, user, codes, locale)
        return views.render(self.s, request, "pocket/manage_codes.html", locale, **view)

    # --- the overview
    async def overview(self, request: Request) -> Response:
        s = self.s
        user = await s.host.session_user(request)
        if user is None:
            return self._no_session(request)
        if request.method != "POST":
            return await self._overview_page(request, user)
        form = await self._checked_form(request, user)
        if isinstance(form, Response):
            return form
        if form.get("remove"):
            # a page from before removals were confirmed: ask now
            return views.see_other(remove_url(form["remove"]))
        action = form.get("action")
        if action not in ("codes", "app", "pocket"):
            return views.see_other(MANAGE_URL)
        if await s.has_factor(user.sub):
            if await self._by_phone(request, user, form):
                change = await self.changes.open(user.sub, action)
                return views.see_other(confirm_step_url(change.id))
            refused = await self._current_factor_refused(request, user, form)
            if refused is not None:
                return refused
        return await self._perform(request, user, action)

    async def _perform(self, request: Request, user: User, action: str) -> Response:
        """Make an overview's change, confirmed already."""
        s = self.s
        if action == "codes":
            codes = await s.recovery.issue(user.sub, s.config.recovery_codes)
            return self._codes_page(request, user, codes)
        if action == "pocket":
            setup_id = secrets.token_urlsafe(18)
            await s.pairings.open(setup_id, user.sub)
            return views.see_other(f"{MANAGE_URL}/pair/{setup_id}")
        setup_id = secrets.token_urlsafe(18)
        await s.setups.open(setup_id, user.sub)
        return views.see_other(f"{MANAGE_URL}/app/{setup_id}")

    async def _current_factor_refused(
        self, request: Request, user: User, form: dict[str, str]
    ) -> Response | None:
        """The overview again, with the reason, if the current factor does not allow it."""
        refusal = await self._factor_refusal(request, user, form)
        if refusal is None:
            return None
        error, status = refusal
        return await self._overview_page(request, user, error, status)

    async def _factor_refusal(
        self, request: Request, user: User, form: dict[str, str]
    ) -> tuple[str, int] | None:
        """The SSO session may come from a password-only login: changing a factor that
        exists takes a code from it (an app code or a recovery code). A user with only a
        phone and no code left passes with a push login of the last few minutes.
        None if the change may go on, else the message and the status to show."""
        s = self.s
        if not await s.has_code(user.sub):
            if await self._fresh_push(request, user.sub):
                return None
            t = s.host.pages.translator(self._locale(request))
            return t("pocket.confirm.needed"), 403
        result = await s.checker.check_login(user.sub, form.get("current", ""))
        if result.ok:
            return None
        has_app = await s.enrollments.has_totp(user.sub)
        error = views.refusal(s, self._locale(request), result.retry_minutes, has_app=has_app)
        return error, 429 if result.retry_minutes else 400

    async def _by_phone(self, request: Request, user: User, form: dict[str, str]) -> bool:
        """Whether the change is to be approved on the phone: no code was typed, and the
        user has a phone and needs a confirmation."""
        if form.get("current", "").strip():
            return False
        return await self._phone_confirms(request, user)

    async def _phone_confirms(self, request: Request, user: User) -> bool:
        """The user has a phone to confirm changes with, and changes need confirming."""
        s = self.s
        if not await s.has_devices(user.sub):
            return False
        return await s.has_code(user.sub) or not await self._fresh_push(request, user.sub)

    async def _fresh_push(self, request: Request, sub: str) -> bool:
        """This browser's SSO session began with a push login just now."""
        session = await self.s.host.session(request)
        return (
            session is not None
            and session.sub == sub
            and "swk" in session.amr
            and time.time() - session.auth_time <= FRESH_PUSH
        )

    async def _overview_page(
        self, request: Request, user: User, error: str | None = None, status: int = 200
    ) -> Response:
        s = self.s
        t = s.host.pages.translator(self._locale(request))
        methods = await s.enrollments.methods(user.sub, t)
        totp = next((m for m in methods if m.kind == "totp"), None)
        codes_left, codes_date = await s.recovery.remaining(user.sub)
        devices = await s.push.devices.list(user.sub)
        token = await self._new_token(user.sub)
        return views.render(
            s,
            request,
            "pocket/manage.html",
            self._locale(request),
            status_code=status,
            user=user,
            totp_date=_date(totp.created_at) if totp else None,
            devices=[(d, when_text(d.paired_at), when_text(d.last_used)) for d in devices],
            has_factor=bool(totp or devices),
            ask_code=bool(totp or codes_left),
            by_phone=await self._phone_confirms(request, user),
            codes_left=codes_left,
            codes_date=_date(codes_date),
            csrf=token,
            error=error,
            notice=request.query_params.get("done"),
            removed_name=await self._removed_name(request, user.sub),
        )

    async def _removed_name(self, request: Request, sub: str) -> str | None:
        """The name of the phone that this user just removed, named by the overview's URL."""
        token = request.query_params.get("phone")
        if not token:
            return None
        record = await self.s.records.find(REMOVED_MODEL, token)
        if record is None or record.get("sub") != sub:
            return None
        return str(record["name"])

    # --- adding or replacing the authenticator app
    async def app(self, request: Request) -> Response:
        s = self.s
        user = await s.host.session_user(request)
        if user is None:
            return self._no_session(request)
        setup_id = request.path_params["setup_id"]
        secret = await s.setups.secret(setup_id, user.sub)
        if secret is None:
            return views.see_other(MANAGE_URL)
        locale = self._locale(request)
        error, status = None, 200
        if request.method == "POST":
            form = await self._checked_form(request, user)
            if isinstance(form, Response):
                return form
            if form.get("action") != "next":
                await s.setups.drop(setup_id)
                return views.see_other(MANAGE_URL)
            result = await s.checker.check_totp(user.sub, secret, form.get("code", ""))
            if result.ok:
                return await self._save(request, user, setup_id, secret)
            error = views.refusal(s, locale, result.retry_minutes, has_app=True)
            status = 429 if result.retry_minutes else 400
        token = await self._new_token(user.sub)
        view = await views.totp_view(s, user, secret, locale, with_qr=not unsupported(request))
        return views.render(
            s,
            request,
            "pocket/app.html",
            locale,
            status_code=status,
            action=f"{MANAGE_URL}/app/{setup_id}",
            csrf=token,
            wizard=False,
            error=error,
            **view,
        )

    async def _save(self, request: Request, user: User, setup_id: str, secret: str) -> Response:
        s = self.s
        codes: list[str] = []
        saved = False
        async with s.records.unit():
            if await s.setups.close(setup_id):
                saved = True
                await s.enrollments.save_totp(user.sub, secret)
                left, _ = await s.recovery.remaining(user.sub)
                if not left:
                    codes = await s.recovery.issue(user.sub, s.config.recovery_codes)
        if saved:
            await s.host.audit.record("enrolled", sub=user.sub, request=request, method="totp")
        if codes:
            return self._codes_page(request, user, codes)
        return views.see_other(f"{MANAGE_URL}?done=app")
