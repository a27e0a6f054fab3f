"""What every passkeys page shares: rendering, the pending login, CSRF, redirects."""

from __future__ import annotations

import hmac
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from idp.factors import FactorHost, PendingLoginView
from idp.store import User

PREFIX = "/factors/passkeys"
SCRIPT = f"{PREFIX}/static/passkeys.js"
#: pages are never cached and never framed (as the host's own pages)
NO_STORE = {"Cache-Control": "no-store"}
#: the messages of failures that only the browser sees
BROWSER_MESSAGES = ("cancelled", "timeout", "unsupported", "failed")


def render(
    host: FactorHost,
    request: Request,
    template: str,
    locale: str,
    *,
    status_code: int = 200,
    **context: Any,
) -> Response:
    t = host.pages.translator(locale)
    messages = {key: t(f"passkeys.error.{key}") for key in BROWSER_MESSAGES}
    return host.pages.render(
        request,
        template,
        locale=locale,
        status_code=status_code,
        prefix=PREFIX,
        script=SCRIPT,
        browser_messages=messages,
        **context,
    )


async def load_login(
    host: FactorHost, request: Request
) -> tuple[PendingLoginView, User] | Response:
    """The pending login named in the path and its user, or the expired page."""
    login = await host.load_login(request, request.path_params["login_id"])
    if login is None or login.sub is None:
        return host.expired(request)
    user = await host.get_user(login.sub)
    if user is None:
        return host.expired(request, login.locale)
    return login, user


def csrf_ok(expected: str, submitted: object) -> bool:
    # as bytes: compare_digest refuses str with anything but ASCII in it
    return isinstance(submitted, str) and hmac.compare_digest(submitted.encode(), expected.encode())


def csrf_failed(host: FactorHost, request: Request, locale: str) -> Response:
    return host.pages.error(
        request, "error.csrf.title", "error.csrf.text", status_code=403, locale=locale
    )


def see_other(url: str) -> Response:
    return RedirectResponse(url, status_code=303, headers=NO_STORE)


def refusal(host: FactorHost, locale: str, reason: str) -> str:
    """The message of a refused passkey, in the user's language."""
    return host.pages.translator(locale)(f"passkeys.error.{reason}")
