"""Changing the password on the account page (/account/password).

The form asks for the current password, the new one twice (at least MIN_LENGTH
characters, the rule of `idp users set-password`) and, for a user with a second factor,
a confirmation by it: a code, or a button that hands the browser to the plugin (a push
to the phone; see ChangeConfirmer). The form's own mistakes (something missing, the two
new passwords differ, too short) are told before the current password is checked. Wrong
current passwords count as wrong passwords at login do (LoginThrottle).

With the button, the new password is hashed and kept with the pending change, bound to
the SSO session, while the plugin asks the phone; once the user approves, the plugin
sends the browser to `/account/password/<id>`, which takes the confirmation (once) and
makes the change.

A change keeps the new hash, ends every other SSO session of the user (this browser's
stays) and is an event of the audit trail (idp.audit: `password_changed`). Refresh
tokens stay valid: each was issued to an application after a full login with the second factor.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from idp.account import csrf_ok, csrf_token, log_in
from idp.factors import ChangeConfirmer, ConfirmWays
from idp.login.password import client_address
from idp.pages import PAGE_HEADERS
from idp.passwords import MIN_LENGTH, too_short

if TYPE_CHECKING:
    from idp.provider import Provider
    from idp.store import User

PAGE = "/account/password"
#: change id -> the user, the SSO session and the new hash, while the phone is asked
PENDING_MODEL = "password_change"
PENDING_TTL = 15 * 60


@dataclass(frozen=True)
class Confirmer:
    """How this user confirms a change: by `plugin`, in `ways`. Both None for a user who
    has no second factor; `plugin` None and no ways for one whose factor cannot confirm
    changes (then the password cannot be changed here)."""

    plugin: ChangeConfirmer | None = None
    ways: ConfirmWays | None = None


async def confirmer_for(provider: Provider, user: User) -> Confirmer:
    for plugin in provider.plugins.values():
        if await plugin.is_enrolled(user):
            if isinstance(plugin, ChangeConfirmer):
                return Confirmer(plugin, await plugin.ways(user))
            return Confirmer(None, ConfirmWays(None, None))
    return Confirmer()


def _provider(request: Request) -> Provider:
    provider: Provider = request.app.state.provider
    return provider


def _done(change_id: str) -> str:
    return f"{PAGE}/{change_id}"


async def _page(
    request: Request,
    user: User,
    confirmer: Confirmer,
    error: str | None = None,
    status: int = 200,
    field: str | None = None,
) -> Response:
    """The form; with an `error`, the message tied to the `field` it is about."""
    provider = _provider(request)
    return provider.pages.render(
        request,
        "account_password.html",
        status_code=status,
        user=user,
        ways=confirmer.ways,
        min_length=MIN_LENGTH,
        csrf=csrf_token(provider, request),
        error=error,
        error_field=field,
        changed=request.query_params.get("done") == "changed",
    )


async def password_page(request: Request) -> Response:
    provider = _provider(request)
    user = await provider.session_user(request)
    if user is None:
        return await log_in(provider, back_to=PAGE)
    return await _page(request, user, await confirmer_for(provider, user))


def _form_error(confirmer: Confirmer, form: dict[str, str]) -> tuple[str, str | None] | None:
    """The message key of what is wrong with the form itself and the field it is about,
    or None."""
    if not form.get("current"):
        return "account.password.missing", "current"
    if not form.get("new"):
        return "account.password.missing", "new"
    if form["new"] != form.get("repeat", ""):
        return "account.password.mismatch", "repeat"
    if too_short(form["new"]):
        return "account.password.too_short", "new"
    ways = confirmer.ways
    if ways is None:
        return None
    if confirmer.plugin is None or (ways.code_label is None and ways.button_label is None):
        return "account.password.cannot_confirm", None
    if not _by_button(ways, form) and not (ways.code_label and form.get("code", "").strip()):
        return "account.password.factor_missing", "code" if ways.code_label else None
    return None


def _by_button(ways: ConfirmWays, form: dict[str, str]) -> bool:
    """The user asked to confirm without a code (a push to the phone)."""
    return form.get("action") == "confirm" and ways.button_label is not None


async def change_password(request: Request) -> Response:
    provider = _provider(request)
    user = await provider.session_user(request)
    raw = await request.form()
    if user is None or csrf_token(provider, request) is None:
        return provider.expired(request)
    if not csrf_ok(provider, request, raw.get("csrf")):
        return provider.pages.error(request, "error.csrf.title", "error.csrf.text", status_code=403)
    form = {k: v for k, v in raw.items() if isinstance(v, str)}
    t = provider.pages.translator(provider.pages.locale_for(request))
    confirmer = await confirmer_for(provider, user)
    mistake = _form_error(confirmer, form)
    if mistake is not None:
        key, field = mistake
        return await _page(request, user, confirmer, t(key, min=MIN_LENGTH), 400, field)

    throttle = provider.throttle
    device_id = await provider.known_browsers.device_id(request, user.username)
    attempt = await throttle.admit(user.username, client_address(request), device_id)
    if attempt.refused:
        provider.metrics.refused("password_attempts")
        error = t("login.locked", count=attempt.retry_minutes)
        return await _page(request, user, confirmer, error, 429, "current")
    if attempt.delay:
        await asyncio.sleep(attempt.delay)
    if not await provider.passwords.verify_async(user.password_hash, form["current"]):
        wrong = t("account.password.wrong_current")
        return await _page(request, user, confirmer, wrong, 400, "current")
    await throttle.succeeded(attempt)

    plugin, ways = confirmer.plugin, confirmer.ways
    if plugin is None or ways is None:  # no second factor to confirm with
        new_hash = await provider.passwords.hash_async(form["new"])
        return await _changed(request, user, new_hash, "password")
    if _by_button(ways, form):
        return await _ask_plugin(request, user, plugin, form["new"])
    check = await plugin.check_code(user, form.get("code", ""))
    if not check.ok:
        if check.retry_minutes:
            error = t("account.password.code_locked", count=check.retry_minutes)
            return await _page(request, user, confirmer, error, 429, "code")
        wrong = t("account.password.code_wrong")
        return await _page(request, user, confirmer, wrong, 400, "code")
    new_hash = await provider.passwords.hash_async(form["new"])
    return await _changed(request, user, new_hash, "code")


async def _ask_plugin(
    request: Request, user: User, plugin: ChangeConfirmer, new_password: str
) -> Response:
    """Keep the change, hashed, and let the plugin ask the user to confirm it."""
    provider = _provider(request)
    session = await provider.session(request)
    assert session is not None  # the page's user comes from it
    new_hash = await provider.passwords.hash_async(new_password)
    change_id = secrets.token_urlsafe(18)
    payload = {"sub": user.sub, "sid": session.sid, "hash": new_hash}
    await provider.store.upsert(PENDING_MODEL, change_id, payload, expires_in=PENDING_TTL)
    t = provider.pages.translator(provider.pages.locale_for(request))
    return await plugin.start_confirmation(
        request,
        user,
        purpose=t("account.password.purpose"),
        done_url=_done(change_id),
        back_url=PAGE,
    )


async def confirmed_change(request: Request) -> Response:
    """Where the plugin sends the browser once the user has confirmed a pending change."""
    provider = _provider(request)
    user = await provider.session_user(request)
    session = await provider.session(request)
    if user is None or session is None:
        return provider.expired(request)
    change_id = request.path_params["change_id"]
    pending = await provider.store.find(PENDING_MODEL, change_id)
    if (
        pending is None
        or pending.get("consumed")
        or pending.get("sub") != user.sub
        or pending.get("sid") != session.sid
    ):
        return _see_other(PAGE)
    plugin = (await confirmer_for(provider, user)).plugin
    if plugin is None or not await plugin.take_confirmation(request, user, _done(change_id)):
        return _see_other(PAGE)
    async with provider.store.unit():
        taken = await provider.store.consume(PENDING_MODEL, change_id)
        await provider.store.destroy(PENDING_MODEL, change_id)
    if taken is None:
        return _see_other(PAGE)
    return await _changed(request, user, str(taken["hash"]), "device")


async def _changed(request: Request, user: User, new_hash: str, confirmed_by: str) -> Response:
    """Keep the new password's hash; every other SSO session of the user ends, and every
    browser remembered for them is forgotten."""
    provider = _provider(request)
    async with provider.store.unit():
        current = await provider.store.get_user(user.sub)
        if current is None:
            return provider.expired(request)
        now = int(time.time())
        await provider.store.update_user(replace(current, password_hash=new_hash, updated_at=now))
        ended = await provider.state.end_other_sessions(request, user.sub)
        await provider.remembered.forget_all(user.sub)
    await provider.audit.record(
        "password_changed",
        reason="by_user",
        sub=user.sub,
        request=request,
        confirmed_by=confirmed_by,
        sessions_ended=ended,
    )
    return _see_other(f"{PAGE}?done=changed")


def _see_other(url: str) -> Response:
    return RedirectResponse(url, status_code=303, headers=PAGE_HEADERS)


def routes() -> list[BaseRoute]:
    return [
        Route(PAGE, password_page, methods=["GET"]),
        Route(PAGE, change_password, methods=["POST"]),
        Route(f"{PAGE}/{{change_id}}", confirmed_change, methods=["GET"]),
    ]
