"""The authorization endpoint (OIDC Core 3.1.2, RFC 6749 4.1.1, RFC 7636).

Until client_id and redirect_uri are known good, errors are shown as a page; after
that they go back to the client by redirect with the spec's error codes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from authlib.oauth2.base import OAuth2Error
from authlib.oauth2.rfc6749 import (
    InvalidRequestError,
    InvalidScopeError,
    UnauthorizedClientError,
    UnsupportedResponseTypeError,
)
from authlib.oidc.core.errors import RequestNotSupportedError, RequestURINotSupportedError
from starlette.requests import Request
from starlette.responses import Response

from idp.i18n import negotiate
from idp.login.acr import requested_acr
from idp.login.state import AuthRequest
from idp.oidc.claims import parse_claims_parameter
from idp.oidc.error_text import shown
from idp.oidc.id_token_hint import audiences, read_id_token
from idp.oidc.models import SCOPES
from idp.oidc.redirects import error_redirect

if TYPE_CHECKING:
    from idp.provider import Provider
    from idp.store import Client

PROMPTS = {"none", "login", "consent", "select_account"}
_PKCE_CHALLENGE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
#: the largest max_age kept (about 68 years): no session is older, so any larger value
#: means the same, and the pending login holds it in a 64-bit whole number
MAX_AGE_CEILING = 2**31 - 1


async def read_params(request: Request) -> dict[str, list[str]]:
    source: Sequence[tuple[str, object]]
    if request.method == "POST":
        source = (await request.form()).multi_items()
    else:
        source = request.query_params.multi_items()
    params: dict[str, list[str]] = {}
    for key, value in source:
        if isinstance(value, str):
            params.setdefault(key, []).append(value)
    return params


def parse_request(
    provider: Provider, client: Client, redirect_uri: str, params: dict[str, str]
) -> AuthRequest:
    """Validate everything past client and redirect URI; raises the error to redirect with."""
    if "request" in params:
        raise RequestNotSupportedError("Request objects are not supported.")
    if "request_uri" in params:
        raise RequestURINotSupportedError("request_uri is not supported.")
    response_type = params.get("response_type")
    if not response_type:
        raise InvalidRequestError("Missing 'response_type'.")
    if response_type != "code":
        raise UnsupportedResponseTypeError(response_type)
    if "authorization_code" not in client.grant_types:
        raise UnauthorizedClientError("This client may not use the authorization code flow.")
    if params.get("response_mode", "query") != "query":
        raise InvalidRequestError("Only response_mode=query is supported.")

    requested = params.get("scope", "").split()
    allowed = set(client.scopes)
    scope = [s for s in dict.fromkeys(requested) if s in SCOPES and s in allowed]
    if not scope:
        raise InvalidScopeError("None of the requested scopes is available to this client.")

    prompt = params.get("prompt", "").split()
    if any(p not in PROMPTS for p in prompt):
        raise InvalidRequestError("Unknown 'prompt' value.")
    if "none" in prompt and len(prompt) > 1:
        raise InvalidRequestError("prompt=none cannot be combined with other values.")

    max_age: int | None = None
    if "max_age" in params:
        try:
            max_age = int(params["max_age"])
        except ValueError:
            raise InvalidRequestError("'max_age' must be a whole number of seconds.") from None
        if max_age < 0:
            raise InvalidRequestError("'max_age' must not be negative.")
        max_age = min(max_age, MAX_AGE_CEILING)

    challenge = params.get("code_challenge")
    method = params.get("code_challenge_method")
    if challenge is None:
        if method:
            raise InvalidRequestError("'code_challenge_method' without 'code_challenge'.")
        if client.public or provider.settings.tokens.require_pkce:
            raise InvalidRequestError("PKCE (code_challenge with S256) is required.")
    else:
        if method != "S256":
            raise InvalidRequestError("Only code_challenge_method=S256 is supported.")
        if not _PKCE_CHALLENGE.match(challenge):
            raise InvalidRequestError("Malformed 'code_challenge'.")

    claims = parse_claims_parameter(params.get("claims"))
    acr_values, acr_essential = requested_acr(params.get("acr_values"), claims)

    hint_sub = None
    if params.get("id_token_hint"):
        hint = read_id_token(provider.keys, params["id_token_hint"], provider.settings.issuer)
        if hint is None or client.client_id not in audiences(hint):
            raise InvalidRequestError("'id_token_hint' is not an ID token issued to this client.")
        hint_sub = str(hint["sub"])

    return AuthRequest(
        client_id=client.client_id,
        redirect_uri=redirect_uri,
        scope=scope,
        state=params.get("state"),
        nonce=params.get("nonce"),
        prompt=prompt,
        max_age=max_age,
        acr_values=acr_values,
        acr_essential=acr_essential,
        ui_locales=params.get("ui_locales"),
        login_hint=params.get("login_hint"),
        id_token_hint_sub=hint_sub,
        id_token_hint=params["id_token_hint"] if hint_sub else None,
        claims=claims,
        code_challenge=challenge,
        code_challenge_method=method if challenge else None,
    )


def authorization_url(issuer: str, auth: AuthRequest) -> str:
    """The request as a URL of this endpoint, with every parameter that `parse_request`
    kept: it asks for the same login again (acr values that were ignored are left out,
    and scope values the client may not have)."""
    params: dict[str, str | None] = {
        "response_type": "code",
        "client_id": auth.client_id,
        "redirect_uri": auth.redirect_uri,
        "scope": " ".join(auth.scope),
        "state": auth.state,
        "nonce": auth.nonce,
        "prompt": " ".join(auth.prompt) or None,
        "max_age": str(auth.max_age) if auth.max_age is not None else None,
        "acr_values": " ".join(auth.acr_values) or None,
        "claims": json.dumps(auth.claims, separators=(",", ":")) if auth.claims else None,
        "ui_locales": auth.ui_locales,
        "login_hint": auth.login_hint,
        "id_token_hint": auth.id_token_hint,
        "code_challenge": auth.code_challenge,
        "code_challenge_method": auth.code_challenge_method,
    }
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{issuer}/authorize?{query}"


async def authorize(request: Request) -> Response:
    provider: Provider = request.app.state.provider
    pages = provider.pages
    multi = await read_params(request)
    params = {k: v[0] for k, v in multi.items()}
    locale = negotiate(params.get("ui_locales"), request.headers.get("accept-language"))

    client_id = params.get("client_id")
    client = await provider.store.get_client(client_id) if client_id else None
    if client is None:
        return pages.error(
            request, "error.bad_client.title", "error.bad_client.text", locale=locale
        )
    redirect_uri = params.get("redirect_uri")
    if not redirect_uri or redirect_uri not in client.redirect_uris:
        return pages.error(
            request, "error.bad_redirect.title", "error.bad_redirect.text", locale=locale
        )
    state = params.get("state")
    try:
        repeated = sorted(k for k, v in multi.items() if len(v) > 1)
        if repeated:
            names = ", ".join(shown(name) for name in repeated)
            raise InvalidRequestError(f"Parameters repeated: {names}.")
        auth = parse_request(provider, client, redirect_uri, params)
    except OAuth2Error as error:
        return error_redirect(redirect_uri, error, state, provider.settings.issuer)

    browser, new_cookie = provider.state.browser_for(request)
    login = provider.state.start(browser, auth, locale)
    response = await provider.pipeline.resume(request, login)
    if new_cookie:
        provider.state.remember_browser(response, new_cookie)
    return response
