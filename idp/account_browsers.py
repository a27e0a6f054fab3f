"""The account page's remembered browsers: forgetting one, and "log out everywhere",
which ends every SSO session of the user (this browser's too) and forgets every browser
remembered for them (idp.login.remembered_browsers)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from idp.account import csrf_ok
from idp.admin.sessions import SessionAdmin
from idp.login.remembered_browsers import REMEMBER_COOKIE
from idp.pages import PAGE_HEADERS
from idp.store import User

if TYPE_CHECKING:
    from idp.provider import Provider


async def _checked(request: Request) -> tuple[Provider, User, dict[str, str]] | Response:
    """The user of this browser's session and the form, once its CSRF token is right."""
    provider: Provider = request.app.state.provider
    user = await provider.session_user(request)
    if user is None:
        return provider.expired(request)
    form = await request.form()
    if not csrf_ok(provider, request, form.get("csrf")):
        return provider.pages.error(request, "error.csrf.title", "error.csrf.text", status_code=403)
    return provider, user, {k: v for k, v in form.items() if isinstance(v, str)}


async def forget_browser(request: Request) -> Response:
    checked = await _checked(request)
    if isinstance(checked, Response):
        return checked
    provider, user, form = checked
    if await provider.remembered.forget(user.sub, form.get("id", "")):
        await provider.audit.record("browser_forgotten", sub=user.sub, request=request)
    return RedirectResponse("/account", status_code=303, headers=PAGE_HEADERS)


async def log_out_everywhere(request: Request) -> Response:
    checked = await _checked(request)
    if isinstance(checked, Response):
        return checked
    provider, user, _ = checked
    await SessionAdmin(provider.store, provider.audit.acting("user", request)).end_all(user.sub)
    response = RedirectResponse("/account", status_code=303, headers=PAGE_HEADERS)
    response.delete_cookie(provider.state.cookie_name, path="/")
    response.delete_cookie(REMEMBER_COOKIE, path="/")
    return response


def routes() -> list[BaseRoute]:
    return [
        Route("/account/browsers/forget", forget_browser, methods=["POST"]),
        Route("/account/logout-everywhere", log_out_everywhere, methods=["POST"]),
    ]
