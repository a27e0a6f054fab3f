"""Confirming a change of the manage page on the phone.

A user with a phone who asks for a change on the overview without typing a code comes
to `manage/confirm/<change>`: the page names the change and offers "Approve on your
phone" (and the code field, if the user has a code). Approving sends a push and waits
(push_confirm.py); the approval leads to `manage/confirmed/<change>`, which makes the
change, once. Removing a phone asks the phone from its own confirmation page
(manage_remove.py) and ends here as well.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from idp.store import User
from plugins.pocket_mfa import views
from plugins.pocket_mfa.changes import Change
from plugins.pocket_mfa.manage import (
    MANAGE_URL,
    Manage,
    confirm_step_url,
    confirmed_url,
    remove_url,
)
from plugins.pocket_mfa.manage_remove import find_device, remove_device


class ManageConfirmation(Manage):
    def routes(self) -> list[BaseRoute]:
        return [
            Route("/manage/confirm/{change_id}", self.step, methods=["GET", "POST"]),
            Route("/manage/confirmed/{change_id}", self.confirmed, methods=["GET"]),
        ]

    async def _what(self, request: Request, user: User, change: Change) -> str | None:
        """The change in the user's words, as the page and the phone name it; None if
        there is nothing to change any more (the phone to remove is gone)."""
        s = self.s
        t = s.host.pages.translator(self._locale(request))
        if change.action == "codes":
            return t("pocket.manage.new_codes")
        if change.action == "app":
            has_app = await s.enrollments.has_totp(user.sub)
            return t("pocket.manage.replace_app" if has_app else "pocket.manage.add_app")
        if change.action == "pocket":
            return t("pocket.manage.add_pocket_more")
        device = await find_device(s, user, change.device_id or "")
        return t("pocket.manage.remove_label", name=device.name) if device else None

    # --- how to confirm
    async def step(self, request: Request) -> Response:
        s = self.s
        user = await s.host.session_user(request)
        if user is None:
            return self._no_session(request)
        change = await self.changes.find(request.path_params["change_id"], user.sub)
        what = await self._what(request, user, change) if change else None
        if change is None or what is None or change.action == "remove":
            return views.see_other(MANAGE_URL)
        error, status = None, 200
        if request.method == "POST":
            form = await self._checked_form(request, user)
            if isinstance(form, Response):
                return form
            action = form.get("action")
            if action == "push" and await s.has_devices(user.sub):
                done, back = confirmed_url(change.id), confirm_step_url(change.id)
                return await self.confirm.start(
                    request, user, purpose=what, done_url=done, back_url=back
                )
            if action != "code":
                await self.changes.drop(change.id)
                return views.see_other(MANAGE_URL)
            refusal = await self._factor_refusal(request, user, form)
            if refusal is None:
                return await self._make(request, user, change.id)
            error, status = refusal
        return views.render(
            s,
            request,
            "pocket/manage_confirm.html",
            self._locale(request),
            status_code=status,
            what=what,
            action=confirm_step_url(change.id),
            csrf=await self._new_token(user.sub),
            code_csrf=await self._new_token(user.sub) if await s.has_code(user.sub) else None,
            error=error,
        )

    # --- the phone approved
    async def confirmed(self, request: Request) -> Response:
        s = self.s
        user = await s.host.session_user(request)
        if user is None:
            return self._no_session(request)
        change_id = request.path_params["change_id"]
        change = await self.changes.find(change_id, user.sub)
        if change is None:
            return views.see_other(MANAGE_URL)
        if not await self.confirm.take(request, user, confirmed_url(change_id)):
            if change.action == "remove":
                return views.see_other(remove_url(change.device_id or ""))
            return views.see_other(confirm_step_url(change_id))
        return await self._make(request, user, change_id)

    async def _make(self, request: Request, user: User, change_id: str) -> Response:
        """Make the change, confirmed: once, however many pages try."""
        change = await self.changes.take(change_id, user.sub)
        if change is None:
            return views.see_other(MANAGE_URL)
        if change.action != "remove":
            return await self._perform(request, user, change.action)
        device = await find_device(self.s, user, change.device_id or "")
        if device is None:
            return views.see_other(f"{MANAGE_URL}?done=none")
        return await remove_device(self.s, user, device)
