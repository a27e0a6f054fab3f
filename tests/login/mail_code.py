"""A second plugin for tests: a code "sent by e-mail", which the test fixes.

It is a whole FactorPlugin of its own, with its records in the store under its name: a
user is enrolled once a login passed it with the right code. Its one page asks for the
code and links to the host's "use another method" page when the host offers one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from idp.factors import DEFAULT_LOCALE, FactorHost, OfferedMethod, PendingLoginView
from idp.store import User

ENROLLED = "enrolled"


@dataclass(frozen=True)
class MailMethod:
    kind: str
    label: str
    created_at: int


class MailCodePlugin:
    name = "mailcode"

    def __init__(self, code: str, *, recommended: bool = False) -> None:
        self.code = code
        self.recommended = recommended

    def setup(self, host: FactorHost, config: Mapping[str, Any]) -> None:
        self.host = host
        self.records = host.records(self.name)

    def routes(self) -> Sequence[BaseRoute]:
        return [Route("/{login_id}", self.page, methods=["GET", "POST"])]

    def template_folders(self) -> Sequence[Path]:
        return []

    async def aclose(self) -> None:
        pass

    async def is_enrolled(self, user: User) -> bool:
        return await self.records.find(ENROLLED, user.sub) is not None

    async def offered_methods(self, user: User, locale: str) -> Sequence[OfferedMethod]:
        label, text = "Code by e-mail", "We send a code to your address."
        return [OfferedMethod(self.name, "email", label, text, self.recommended)]

    async def begin(
        self,
        request: Request,
        login: PendingLoginView,
        user: User,
        method: str | None = None,
    ) -> Response:
        return RedirectResponse(f"/factors/{self.name}/{login.id}", status_code=303)

    async def methods(self, user: User, locale: str = DEFAULT_LOCALE) -> Sequence[MailMethod]:
        record = await self.records.find(ENROLLED, user.sub)
        return [MailMethod("email", "E-mail", record["at"])] if record else []

    async def reset(self, user: User) -> int:
        if await self.records.find(ENROLLED, user.sub) is None:
            return 0
        await self.records.destroy(ENROLLED, user.sub)
        return 1

    async def enroll(self, user: User) -> None:
        await self.records.upsert(ENROLLED, user.sub, {"at": 1})

    async def page(self, request: Request) -> Response:
        login = await self.host.load_login(request, request.path_params["login_id"])
        if login is None or login.sub is None:
            return self.host.expired(request)
        user = await self.host.get_user(login.sub)
        assert user is not None
        if request.method == "POST":
            form = await request.form()
            if form.get("code") == self.code:
                if not await self.is_enrolled(user):
                    await self.enroll(user)
                return await self.host.finish(request, login, ["otp"])
        other = self.host.other_methods_url(login)
        link = f'<a href="{escape(other)}" id="other-methods">other</a>' if other else ""
        form = f'<form method="post" id="mail-code"><input name="code"></form>{link}'
        return HTMLResponse(form)
