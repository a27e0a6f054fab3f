"""RP-Initiated Logout 1.0: the end_session endpoint.

A valid id_token_hint for the current session's user logs out at once; without one
the user is asked first, so that no third party can log anybody out. A redirect goes
only to a post_logout_redirect_uri registered for the client, with `state` added.
"""

from __future__ import annotations

import hmac
import secrets
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from idp.i18n import negotiate
from idp.oidc.authorize import read_params
from idp.oidc.id_token_hint import audiences, read_id_token
from idp.oidc.redirects import redirect

if TYPE_CHECKING:
    from idp.provider import Provider

_LOGOUT_TTL = 600


async def _finish(
    provider: Provider, request: Request, uri: str | None, state: str | None, locale: str
) -> Response:
    response = (
        redirect(uri, {"state": state})
        if uri
        else provider.pages.render(request, "logged_out.html", locale=locale)
    )
    await provider.state.end_session(request, response)
    return response


def _bad(provider: Provider, request: Request, key: str, locale: str) -> Response:
    return provider.pages.error(request, f"error.{key}.title", f"error.{key}.text", locale=locale)


async def end_session(request: Request) -> Response:
    provider: Provider = request.app.state.provider
    multi = await read_params(request)
    params = {k: v[0] for k, v in multi.items()}
    locale = negotiate(params.get("ui_locales"), request.headers.get("accept-language"))
    issuer = provider.settings.issuer

    hint = None
    if params.get("id_token_hint"):
        hint = read_id_token(provider.keys, params["id_token_hint"], issuer)
        if hint is None:
            return _bad(provider, request, "bad_id_token_hint", locale)
    client_id = params.get("client_id")
    if hint is not None:
        auds = audiences(hint)
        if client_id and client_id not in auds:
            return _bad(provider, request, "bad_id_token_hint", locale)
        client_id = client_id or (auds[0] if auds else None)

    uri = params.get("post_logout_redirect_uri")
    if uri:
        client = await provider.store.get_client(client_id) if client_id else None
        if client is None or uri not in client.post_logout_redirect_uris:
            return _bad(provider, request, "bad_logout_redirect", locale)
    state = params.get("state")

    session = await provider.state.current_session(request)
    if session is None or (hint is not None and hint.get("sub") == session.sub):
        return await _finish(provider, request, uri, state, locale)

    # ask first: the request may not come from the user's own relying party
    browser, new_cookie = provider.state.browser_for(request)
    logout_id = secrets.token_urlsafe(18)
    await provider.store.upsert(
        "logout",
        logout_id,
        {"browser": browser, "uri": uri, "state": state, "locale": locale},
        _LOGOUT_TTL,
    )
    response = provider.pages.render(request, "logout.html", locale=locale, logout_id=logout_id)
    if new_cookie:
        provider.state.remember_browser(response, new_cookie)
    return response


async def confirm_logout(request: Request) -> Response:
    provider: Provider = request.app.state.provider
    form = await request.form()
    logout_id = str(form.get("logout_id") or "")
    pending = await provider.store.consume("logout", logout_id) if logout_id else None
    browser = provider.state.browser_id(request)
    if pending is None or browser is None or not hmac.compare_digest(browser, pending["browser"]):
        return provider.expired(request)
    locale = pending["locale"]
    if form.get("action") != "logout":
        return provider.pages.render(request, "still_logged_in.html", locale=locale)
    return await _finish(provider, request, pending["uri"], pending["state"], locale)
