"""The user's own page of passkeys (linked from the account page): each one by its name,
when it was created and last used; add one, remove one. Changes need an SSO session
that passed a second factor ("mfa" in its amr): a password alone changes nothing here."""

from __future__ import annotations

import secrets
import time

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from idp.factors import FactorHost
from idp.store import User
from plugins.passkeys import views
from plugins.passkeys.ceremonies import Ceremonies
from plugins.passkeys.errors import PasskeyRefused

PAGE_MODEL = "manage_page"
#: how long a manage page's remove buttons work
PAGE_TTL = 900
MANAGE_URL = f"{views.PREFIX}/manage"


def _date(timestamp: int | None) -> str | None:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp)) if timestamp else None


class Manage:
    def __init__(self, host: FactorHost, ceremonies: Ceremonies) -> None:
        self.host = host
        self.ceremonies = ceremonies

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/manage", self.page, methods=["GET"]),
            Route("/manage/add", self.add, methods=["POST"]),
            Route("/manage/remove", self.remove, methods=["POST"]),
        ]

    def _locale(self, request: Request) -> str:
        return self.host.pages.locale_for(request)

    async def _user(self, request: Request) -> tuple[User | None, bool]:
        """The session's user, and whether the session passed a second factor."""
        session = await self.host.session(request)
        if session is None:
            return None, False
        user = await self.host.get_user(session.sub)
        return user, "mfa" in session.amr

    async def page(self, request: Request) -> Response:
        user, may_change = await self._user(request)
        if user is None:
            return views.render(
                self.host, request, "passkeys/no_session.html", self._locale(request)
            )
        return await self._page(request, user, may_change, request.query_params.get("notice"))

    async def _page(
        self,
        request: Request,
        user: User,
        may_change: bool,
        notice: str | None = None,
        error: str | None = None,
        status: int = 200,
    ) -> Response:
        locale = self._locale(request)
        t = self.host.pages.translator(locale)
        passkeys = await self.ceremonies.passkeys.list(user.sub)
        challenge_id = options = token = None
        if may_change:
            challenge_id, options = await self.ceremonies.start_registration(
                user, "manage", user.sub
            )
            token = secrets.token_urlsafe(18)
            await self.ceremonies.passkeys.records.upsert(
                PAGE_MODEL, token, {"sub": user.sub}, expires_in=PAGE_TTL
            )
        rows = [
            (p, _date(p.created_at), _date(p.last_used) or t("passkeys.manage.never"))
            for p in passkeys
        ]
        return views.render(
            self.host,
            request,
            "passkeys/manage.html",
            locale,
            status_code=status,
            user=user,
            passkeys=rows,
            may_change=may_change,
            notice=notice if notice in ("added", "removed") else None,
            error=error,
            challenge_id=challenge_id,
            options=options,
            token=token,
            name=t("passkeys.enroll.default_name"),
        )

    async def add(self, request: Request) -> Response:
        user, may_change = await self._user(request)
        if user is None or not may_change:
            return views.see_other(MANAGE_URL)
        form = await request.form()
        locale = self._locale(request)
        name = str(form.get("name") or "").strip()
        name = name or self.host.pages.translator(locale)("passkeys.enroll.default_name")
        try:
            await self.ceremonies.finish_registration(
                user, "manage", user.sub, form.get("challenge_id"), form.get("credential"), name
            )
        except PasskeyRefused as refused:
            error = views.refusal(self.host, locale, refused.reason)
            return await self._page(request, user, may_change, error=error, status=400)
        await self.host.audit.record(
            "enrolled", sub=user.sub, request=request, method="passkey", name=name
        )
        return views.see_other(f"{MANAGE_URL}?notice=added")

    async def remove(self, request: Request) -> Response:
        user, may_change = await self._user(request)
        if user is None or not may_change:
            return views.see_other(MANAGE_URL)
        form = await request.form()
        token = form.get("token")
        records = self.ceremonies.passkeys.records
        page = await records.consume(PAGE_MODEL, token) if isinstance(token, str) else None
        if page is None or page.get("sub") != user.sub:
            return views.csrf_failed(self.host, request, self._locale(request))
        credential_id = str(form.get("credential_id") or "")
        removed = await self.ceremonies.passkeys.remove(user.sub, credential_id)
        if removed is not None:
            await self.host.audit.record(
                "device_removed", sub=user.sub, request=request, method="passkey", name=removed.name
            )
        return views.see_other(f"{MANAGE_URL}?notice=removed")
