"""The consent step: the scopes a client asks for, allowed once and then remembered."""

from __future__ import annotations

from typing import TYPE_CHECKING

from authlib.oauth2.rfc6749 import AccessDeniedError
from starlette.requests import Request
from starlette.responses import Response

from idp.login.password import csrf_ok
from idp.oidc.redirects import error_redirect

if TYPE_CHECKING:
    from idp.provider import Provider


async def remember_consent(provider: Provider, sub: str, client_id: str, scope: list[str]) -> None:
    """Add the allowed scopes to what this user allowed this client before."""
    key = f"{sub}:{client_id}"
    before = await provider.store.find("consent", key) or {}
    granted = list(dict.fromkeys([*before.get("scope", []), *scope]))
    await provider.store.upsert("consent", key, {"client_id": client_id, "scope": granted}, sub=sub)


async def consent_page(request: Request) -> Response:
    provider: Provider = request.app.state.provider
    login = await provider.state.load(request, request.path_params["login_id"])
    if login is None or login.sub is None:
        return provider.expired(request)
    client = await provider.store.get_client(login.request.client_id)
    return provider.pages.render(
        request,
        "consent.html",
        locale=login.locale,
        login=login,
        client_name=client.name if client else login.request.client_id,
        scopes=login.request.scope,
    )


async def consent_submit(request: Request) -> Response:
    provider: Provider = request.app.state.provider
    login = await provider.state.load(request, request.path_params["login_id"])
    if login is None or login.sub is None:
        return provider.expired(request)
    form = await request.form()
    if not csrf_ok(login, form.get("csrf")):
        return provider.pages.error(
            request, "error.csrf.title", "error.csrf.text", status_code=403, locale=login.locale
        )
    auth = login.request
    if form.get("action") != "allow":
        await provider.state.finish(login)
        return error_redirect(
            auth.redirect_uri,
            AccessDeniedError("The user declined."),
            auth.state,
            provider.settings.issuer,
        )
    await remember_consent(provider, login.sub, auth.client_id, auth.scope)
    login.consented = True
    return await provider.pipeline.resume(request, login)
