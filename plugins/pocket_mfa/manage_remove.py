"""Removing a Pocket device from the account page, after a confirmation.

The overview links each phone to a page that names it and asks: Remove, or Cancel. That
page takes the code of the current factor (the same check as every change on the account
page), or sends the user to approve the removal on the phone; then it removes the phone,
and sends the user back to the overview, which names the phone that was removed. All of
it is plain forms: no script needed.
"""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from idp.store import User
from plugins.pocket_mfa import views
from plugins.pocket_mfa.manage import (
    MANAGE_URL,
    REMOVED_MODEL,
    REMOVED_TTL,
    Manage,
    confirmed_url,
    remove_url,
    when_text,
)
from plugins.pocket_mfa.push.devices import Device
from plugins.pocket_mfa.services import Services


async def find_device(s: Services, user: User, device_id: str) -> Device | None:
    devices = await s.push.devices.list(user.sub)
    return next((d for d in devices if d.device_id == device_id), None)


async def remove_device(s: Services, user: User, device: Device) -> Response:
    """Remove the phone (confirmed already), and on to the overview, which names it."""
    notice = secrets.token_urlsafe(18)
    async with s.records.unit():
        removed = await s.push.devices.remove(user.sub, device.device_id)
        if removed:
            await s.push.audit.record(
                "device_removed", sub=user.sub, device_id=device.device_id, name=device.name
            )
            payload = {"sub": user.sub, "name": device.name}
            await s.records.upsert(REMOVED_MODEL, notice, payload, expires_in=REMOVED_TTL)
    if not removed:  # removed meanwhile, by another page
        return views.see_other(f"{MANAGE_URL}?done=none")
    return views.see_other(f"{MANAGE_URL}?done=removed&phone={notice}")


class ManageRemoval(Manage):
    def routes(self) -> list[BaseRoute]:
        return [Route("/manage/remove/{device_id}", self.remove, methods=["GET", "POST"])]

    async def remove(self, request: Request) -> Response:
        s = self.s
        user = await s.host.session_user(request)
        if user is None:
            return self._no_session(request)
        device = await find_device(s, user, request.path_params["device_id"])
        if device is None:
            return views.see_other(MANAGE_URL)
        if request.method != "POST":
            return await self._confirm_page(request, user, device)
        action = (await request.form()).get("action")
        if action not in ("remove", "push"):
            return views.see_other(MANAGE_URL)  # Cancel: nothing to check, nothing changes
        form = await self._checked_form(request, user)
        if isinstance(form, Response):
            return form
        if action == "push" and await self._phone_confirms(request, user):
            return await self._ask_phone(request, user, device)
        refusal = await self._factor_refusal(request, user, form)
        if refusal is not None:
            error, status = refusal
            return await self._confirm_page(request, user, device, error, status)
        return await remove_device(s, user, device)

    async def _ask_phone(self, request: Request, user: User, device: Device) -> Response:
        change = await self.changes.open(user.sub, "remove", device.device_id)
        t = self.s.host.pages.translator(self._locale(request))
        return await self.confirm.start(
            request,
            user,
            purpose=t("pocket.manage.remove_label", name=device.name),
            done_url=confirmed_url(change.id),
            back_url=remove_url(device.device_id),
        )

    async def _confirm_page(
        self,
        request: Request,
        user: User,
        device: Device,
        error: str | None = None,
        status: int = 200,
    ) -> Response:
        s = self.s
        return views.render(
            s,
            request,
            "pocket/manage_remove.html",
            self._locale(request),
            status_code=status,
            device=device,
            paired=when_text(device.paired_at),
            used=when_text(device.last_used),
            ask_code=await s.has_code(user.sub),
            has_app=await s.enrollments.has_totp(user.sub),
            by_phone=await self._phone_confirms(request, user),
            action=remove_url(device.device_id),
            csrf=await self._new_token(user.sub),
            error=error,
        )
