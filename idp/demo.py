"""The demo: a user, a client, and a small relying party inside the IdP that shows the
decoded ID token and userinfo, so that a newcomer can click through a whole login.

The demo relying party talks to the provider only through its public endpoints, as any
other client would (code flow with PKCE, token exchange, userinfo, logout).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import secrets
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import httpx
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from idp.oidc.id_token_hint import read_id_token
from idp.pages import PAGE_HEADERS
from idp.pkce import new_pair
from idp.store import Client, User

if TYPE_CHECKING:
    from idp.provider import Provider

DEMO_CLIENT_ID = "demo"
DEMO_USERNAME = "demo"
#: the error codes of an authorization response (RFC 6749 4.1.2.1, OpenID Connect Core
#: 3.1.2.6) that the demo explains in its own words; any other gets a general text
EXPLAINED_ERRORS = frozenset(
    {
        "access_denied",
        "login_required",
        "interaction_required",
        "consent_required",
        "temporarily_unavailable",
    }
)
_ERROR_CODE = re.compile(r"[a-z_]{1,64}")


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    client_id: str


async def ensure_demo(provider: Provider, secrets_file: Path) -> DemoAccount:
    """Create the demo user and client if missing; the password is kept beside the store.

    Servers that start at the same moment take turns (see Store.unit): the first makes
    the account, the others find it."""
    issuer = provider.settings.issuer
    store = provider.store
    password = _demo_password(secrets_file)
    async with store.unit():
        await store.hit("demo:ensure", 60)
        user = await store.find_user(DEMO_USERNAME)
        if user is None or not await provider.passwords.verify_async(user.password_hash, password):
            if user is not None:
                await store.remove_user(user.sub)
            now = int(time.time())
            await store.add_user(
                User(
                    sub=str(uuid.uuid4()),
                    username=DEMO_USERNAME,
                    password_hash=await provider.passwords.hash_async(password),
                    name="Demo Gebruiker",
                    given_name="Demo",
                    family_name="Gebruiker",
                    email="demo@example.org",
                    email_verified=True,
                    locale="nl-NL",
                    created_at=now,
                    updated_at=now,
                )
            )
        if await store.get_client(DEMO_CLIENT_ID) is None:
            await store.add_client(
                Client(
                    client_id=DEMO_CLIENT_ID,
                    name="Pocket IdP demo",
                    redirect_uris=(f"{issuer}/demo/callback",),
                    post_logout_redirect_uris=(f"{issuer}/demo",),
                    public=True,
                    token_endpoint_auth_method="none",
                    first_party=True,
                    created_at=int(time.time()),
                )
            )
    return DemoAccount(DEMO_USERNAME, password, DEMO_CLIENT_ID)


def _demo_password(secrets_file: Path) -> str:
    """The demo password kept in `secrets_file`, made by whoever comes first."""
    secrets_file.parent.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(9)
    try:
        fd = os.open(secrets_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):  # another server is writing it this very moment
            with contextlib.suppress(ValueError, KeyError):
                kept: str = json.loads(secrets_file.read_text())["password"]
                return kept
            time.sleep(0.02)
        raise OSError(f"the demo password in {secrets_file} cannot be read") from None
    with os.fdopen(fd, "w") as file:
        file.write(json.dumps({"password": password}))
    return password


def _provider(request: Request) -> Provider:
    provider: Provider = request.app.state.provider
    return provider


def _failed(request: Request, message: str, code: object) -> Response:
    """The demo page saying, in the visitor's language, why there is nothing to show: the
    text of `message` (a key under demo.error), and the protocol's error code. The
    provider's error_description is for developers, in English: it is not shown."""
    shown = code if isinstance(code, str) and _ERROR_CODE.fullmatch(code) else None
    return _provider(request).pages.render(
        request, "demo.html", result=None, error_key=f"demo.error.{message}", error_code=shown
    )


async def home(request: Request) -> Response:
    provider = _provider(request)
    return provider.pages.render(request, "demo.html", result=None)


async def start(request: Request) -> Response:
    provider = _provider(request)
    issuer = provider.settings.issuer
    state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    verifier, challenge = new_pair()
    await provider.store.upsert("demo", state, {"nonce": nonce, "verifier": verifier}, 600)
    query = {
        "response_type": "code",
        "client_id": DEMO_CLIENT_ID,
        "redirect_uri": f"{issuer}/demo/callback",
        "scope": "openid profile email offline_access",
        "state": state,
        "nonce": nonce,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    for name in ("prompt", "ui_locales", "acr_values"):
        if request.query_params.get(name):
            query[name] = request.query_params[name]
    return RedirectResponse(f"/authorize?{urlencode(query)}", status_code=303, headers=PAGE_HEADERS)


async def callback(request: Request) -> Response:
    provider = _provider(request)
    issuer = provider.settings.issuer
    params = request.query_params
    pending = await provider.store.consume("demo", params.get("state", ""))
    if pending is None:
        return provider.expired(request)
    if "error" in params:
        code = params["error"]
        return _failed(request, code if code in EXPLAINED_ERRORS else "other", code)
    transport = httpx.ASGITransport(app=request.app, client=("127.0.0.1", 0))
    async with httpx.AsyncClient(transport=transport, base_url=issuer) as http:
        token_response = await http.post(
            "/token",
            data={
                "grant_type": "authorization_code",
                "code": params.get("code", ""),
                "redirect_uri": f"{issuer}/demo/callback",
                "client_id": DEMO_CLIENT_ID,
                "code_verifier": pending["verifier"],
            },
        )
        tokens: dict[str, Any] = token_response.json()
        if token_response.status_code != 200:
            return _failed(request, "token", tokens.get("error"))
        info = await http.get(
            "/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        )
    id_token = tokens["id_token"]
    claims = read_id_token(provider.keys, id_token, issuer)
    header = json.loads(base64.urlsafe_b64decode(id_token.split(".")[0] + "=="))
    checks = {
        "signature": claims is not None,
        "nonce": bool(claims and claims.get("nonce") == pending["nonce"]),
        "audience": bool(claims and claims.get("aud") == DEMO_CLIENT_ID),
    }
    logout_query = urlencode(
        {"id_token_hint": id_token, "post_logout_redirect_uri": f"{issuer}/demo", "state": "demo"}
    )
    return provider.pages.render(
        request,
        "demo.html",
        result={
            "header": json.dumps(header, indent=2),
            "claims": json.dumps(claims, indent=2, ensure_ascii=False),
            "userinfo": json.dumps(info.json(), indent=2, ensure_ascii=False),
            "checks": checks,
            "scope": tokens.get("scope", ""),
            "refresh": "refresh_token" in tokens,
            "logout_url": f"/logout?{logout_query}",
        },
    )


def routes() -> list[BaseRoute]:
    return [
        Route("/demo", home, methods=["GET"]),
        Route("/demo/start", start, methods=["GET"]),
        Route("/demo/callback", callback, methods=["GET"]),
    ]
