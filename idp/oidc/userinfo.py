"""The UserInfo endpoint (OIDC Core 5.3) with Bearer tokens (RFC 6750 2.1 and 2.2)."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from idp.oidc.adapter import NO_STORE
from idp.oidc.claims import user_claims

if TYPE_CHECKING:
    from idp.provider import Provider


def _bearer_error(status: int, error: str, description: str) -> Response:
    challenge = f'Bearer realm="userinfo", error="{error}", error_description="{description}"'
    body = json.dumps({"error": error, "error_description": description})
    return Response(
        body,
        status_code=status,
        media_type="application/json",
        headers={**NO_STORE, "WWW-Authenticate": challenge},
    )


async def _token_from(request: Request) -> str | bool | None:
    """The access token, None if absent, False if sent in more than one way (6750 2)."""
    found: list[str] = []
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            found.append(value.strip())
    content_type = request.headers.get("content-type", "")
    if request.method == "POST" and content_type.startswith("application/x-www-form-urlencoded"):
        form = await request.form()
        form_value = form.get("access_token")
        if isinstance(form_value, str) and form_value:
            found.append(form_value)
    if len(found) > 1:
        return False
    return found[0] if found else None


async def _claims_for(provider: Provider, token: str) -> dict[str, Any] | str:
    record = await provider.oauth.find_access_token(token)
    data = record.data if record is not None else {}
    if data.get("expires_at", 0) < time.time() or not data.get("sub"):
        return "invalid_token"
    scopes = data.get("scope", "").split()
    if "openid" not in scopes:
        return "insufficient_scope"
    user = await provider.store.get_user(data["sub"])
    if user is None or user.disabled:
        return "invalid_token"
    return user_claims(user, scopes, requested=data.get("userinfo_claims", []))


async def userinfo(request: Request) -> Response:
    provider: Provider = request.app.state.provider
    token = await _token_from(request)
    if token is False:
        return _bearer_error(400, "invalid_request", "The token was sent in more than one way.")
    if not token:
        return Response(
            status_code=401,
            headers={**NO_STORE, "WWW-Authenticate": 'Bearer realm="userinfo"'},
        )
    result = await _claims_for(provider, str(token))
    if result == "invalid_token":
        return _bearer_error(401, "invalid_token", "The access token is not valid.")
    if result == "insufficient_scope":
        return _bearer_error(403, "insufficient_scope", "The token has no 'openid' scope.")
    return Response(
        json.dumps(result, separators=(",", ":")),
        media_type="application/json",
        headers=NO_STORE,
    )
