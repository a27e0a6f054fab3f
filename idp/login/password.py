"""The password step: the login form, its CSRF check, throttling and argon2id verify."""

from __future__ import annotations

import asyncio
import hmac
import time
from dataclasses import replace
from typing import TYPE_CHECKING

from authlib.oauth2.rfc6749 import AccessDeniedError
from starlette.requests import Request
from starlette.responses import Response

from idp.login.state import PendingLogin
from idp.oidc.redirects import error_redirect

if TYPE_CHECKING:
    from idp.provider import Provider


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def csrf_ok(login: PendingLogin, submitted: object) -> bool:
    # as bytes: compare_digest refuses str with anything but ASCII in it
    return isinstance(submitted, str) and hmac.compare_digest(
        submitted.encode(), login.csrf.encode()
    )


async def _render(
    provider: Provider,
    request: Request,
    login: PendingLogin,
    *,
    username: str = "",
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    client = await provider.store.get_client(login.request.client_id)
    return provider.pages.render(
        request,
        "login.html",
        locale=login.locale,
        status_code=status_code,
        login=login,
        client_name=client.name if client else "",
        username=username or login.request.login_hint or "",
        error=error,
        passwordless=provider.passwordless_options(login),
    )


async def _over_rate_limit(provider: Provider, request: Request) -> Response | None:
    """Count a request to the password page against its address ([rate_limits] login);
    the page that says so when it is over the limit."""
    retry_after = await provider.rate_limits.retry_after("login", client_address(request))
    if retry_after is None:
        return None
    page = provider.pages.error(
        request, "error.rate_limited.title", "error.rate_limited.text", status_code=429
    )
    page.headers["Retry-After"] = str(retry_after)
    return page


async def _failed(
    provider: Provider,
    request: Request,
    login: PendingLogin,
    reason: str,
    username: str,
    sub: str | None = None,
) -> None:
    """A refused password step, in the audit trail: the reason, and the username typed
    (never the password)."""
    await provider.audit.record(
        "login_failed",
        outcome="failure",
        reason=reason,
        sub=sub,
        client=login.request.client_id,
        request=request,
        username=username[:200],
    )


async def login_page(request: Request) -> Response:
    provider: Provider = request.app.state.provider
    refused = await _over_rate_limit(provider, request)
    if refused is not None:
        return refused
    login = await provider.state.load(request, request.path_params["login_id"])
    if login is None:
        return provider.expired(request)
    return await _render(provider, request, login)


async def login_submit(request: Request) -> Response:
    provider: Provider = request.app.state.provider
    refused = await _over_rate_limit(provider, request)
    if refused is not None:
        return refused
    login = await provider.state.load(request, request.path_params["login_id"])
    if login is None:
        return provider.expired(request)
    form = await request.form()
    if not csrf_ok(login, form.get("csrf")):
        return provider.pages.error(
            request, "error.csrf.title", "error.csrf.text", status_code=403, locale=login.locale
        )
    if form.get("action") == "cancel":
        await provider.state.finish(login)
        auth = login.request
        return error_redirect(
            auth.redirect_uri,
            AccessDeniedError("The user cancelled."),
            auth.state,
            provider.settings.issuer,
        )

    username = str(form.get("username") or "").strip()
    password = str(form.get("password") or "")
    t = provider.pages.translator(login.locale)
    if not username or not password:
        return await _render(
            provider, request, login, username=username, status_code=400, error=t("login.missing")
        )
    throttle = provider.throttle
    device_id = await provider.known_browsers.device_id(request, username)
    attempt = await throttle.admit(username, client_address(request), device_id)
    if attempt.refused:
        provider.metrics.refused("password_attempts")
        provider.metrics.login("throttled", "pwd")
        await _failed(provider, request, login, "throttled", username)
        return await _render(
            provider,
            request,
            login,
            username=username,
            status_code=429,
            error=t("login.locked", count=attempt.retry_minutes),
        )
    if attempt.delay:
        await asyncio.sleep(attempt.delay)

    user = await provider.store.find_user(username)
    ok = await provider.passwords.verify_async(user.password_hash if user else None, password)
    if not ok or user is None or user.disabled:
        provider.metrics.login("wrong_password", "pwd")
        if user is None:
            reason = "unknown_user"
        elif not ok:
            reason = "bad_password"
        else:
            reason = "disabled_user"
        await _failed(provider, request, login, reason, username, user.sub if user else None)
        return await _render(
            provider, request, login, username=username, status_code=401, error=t("login.failed")
        )
    await throttle.succeeded(attempt)
    if provider.passwords.needs_rehash(user.password_hash):
        # the argon2id settings were raised since this hash was made: upgrade it now,
        # while the password is at hand
        new_hash = await provider.passwords.hash_async(password)
        await provider.store.update_user(replace(user, password_hash=new_hash))
    login.sub = user.sub
    login.auth_time = int(time.time())
    login.amr = ["pwd"]
    login.factor_done = False
    login.fresh = True
    response = await provider.pipeline.resume(request, login)
    await provider.known_browsers.remember(request, response, username)
    return response
