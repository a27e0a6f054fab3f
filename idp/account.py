"""The account page: who is logged in, their second factors, and the consents they gave.

It logs in like any application would, as the built-in first-party client "account",
so that the password and second-factor steps apply to it as well.
"""

from __future__ import annotations

import hmac
import secrets
import time
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from idp.pages import PAGE_HEADERS
from idp.pkce import new_pair
from idp.store import Client, Store

if TYPE_CHECKING:
    from idp.provider import Provider

ACCOUNT_CLIENT_ID = "account"
#: where a login for the account pages may lead back to
ACCOUNT_PAGES = ("/account", "/account/password")


async def ensure_account_client(store: Store, issuer: str) -> None:
    """The built-in client of the account page, with this issuer's return address. One
    written for another issuer (by an older version, or before the issuer changed) is
    written again: the login would refuse its address, and the page be a dead end."""
    wanted = Client(
        client_id=ACCOUNT_CLIENT_ID,
        name="Account",
        redirect_uris=(f"{issuer}/account/callback",),
        public=True,
        token_endpoint_auth_method="none",
        grant_types=("authorization_code",),
        scopes=("openid", "profile"),
        first_party=True,
        created_at=int(time.time()),
    )
    # servers starting at the same moment take turns (see Store.unit)
    async with store.unit():
        await store.hit("account-client:ensure", 60)
        existing = await store.get_client(ACCOUNT_CLIENT_ID)
        if existing is None:
            await store.add_client(wanted)
        elif existing.redirect_uris != wanted.redirect_uris:
            await store.remove_client(ACCOUNT_CLIENT_ID)
            await store.add_client(wanted)


def _provider(request: Request) -> Provider:
    provider: Provider = request.app.state.provider
    return provider


def csrf_token(provider: Provider, request: Request) -> str | None:
    """A per-browser token for the account pages' forms."""
    browser = provider.state.browser_id(request)
    return browser[:32] if browser else None


def csrf_ok(provider: Provider, request: Request, submitted: object) -> bool:
    expected = csrf_token(provider, request)
    if expected is None or not isinstance(submitted, str):
        return False
    # as bytes: compare_digest refuses str with anything but ASCII in it
    return hmac.compare_digest(expected.encode(), submitted.encode())


async def log_in(provider: Provider, back_to: str = "/account") -> Response:
    """Send the browser to log in as the account client; then on to `back_to` (a path
    of the account pages)."""
    state = secrets.token_urlsafe(16)
    await provider.store.upsert("account_login", state, {"next": back_to}, 600)
    _, challenge = new_pair()
    query = urlencode(
        {
            "response_type": "code",
            "client_id": ACCOUNT_CLIENT_ID,
            "redirect_uri": f"{provider.settings.issuer}/account/callback",
            "scope": "openid profile",
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    return RedirectResponse(f"/authorize?{query}", status_code=303, headers=PAGE_HEADERS)


async def account(request: Request) -> Response:
    provider = _provider(request)
    user = await provider.session_user(request)
    if user is None:
        return await log_in(provider)

    locale = provider.pages.locale_for(request)

    async def gather() -> tuple[list[dict[str, object]], list[dict[str, object]]]:
        factors: list[dict[str, object]] = [
            {"plugin": name, "methods": list(await plugin.methods(user, locale))}
            for name, plugin in provider.plugins.items()
        ]
        consents: list[dict[str, object]] = []
        for key, data in await provider.store.find_by_sub("consent", user.sub):
            client_id = key.split(":", 1)[1]
            client = await provider.store.get_client(client_id)
            consents.append(
                {
                    "client_id": client_id,
                    "name": client.name if client else client_id,
                    "scope": data.get("scope", []),
                }
            )
        return factors, consents

    factors, consents = await gather()
    return provider.pages.render(
        request,
        "account.html",
        locale=locale,
        user=user,
        factors=factors,
        consents=consents,
        browsers=await provider.remembered.list(user.sub),
        csrf=csrf_token(provider, request),
    )


async def callback(request: Request) -> Response:
    provider = _provider(request)
    state = request.query_params.get("state", "")
    started = await provider.store.consume("account_login", state)
    if started is None:
        return provider.expired(request)
    back_to = started.get("next")
    if back_to not in ACCOUNT_PAGES:
        back_to = "/account"
    # the login opened the SSO session; the code itself is not needed and soon expires
    return RedirectResponse(back_to, status_code=303, headers=PAGE_HEADERS)


async def revoke_consent(request: Request) -> Response:
    provider = _provider(request)
    user = await provider.session_user(request)
    form = await request.form()
    expected = csrf_token(provider, request)
    submitted = form.get("csrf")
    if user is None or expected is None or not isinstance(submitted, str):
        return provider.expired(request)
    if not csrf_ok(provider, request, submitted):
        return provider.pages.error(request, "error.csrf.title", "error.csrf.text", status_code=403)
    client_id = str(form.get("client_id") or "")
    await provider.store.destroy("consent", f"{user.sub}:{client_id}")
    return RedirectResponse("/account", status_code=303, headers=PAGE_HEADERS)


def routes() -> list[BaseRoute]:
    return [
        Route("/account", account, methods=["GET"]),
        Route("/account/callback", callback, methods=["GET"]),
        Route("/account/consents/revoke", revoke_consent, methods=["POST"]),
    ]
