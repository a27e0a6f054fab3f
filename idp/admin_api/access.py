"""Who may call the API: a Bearer access token (RFC 6750 2.1) that the token endpoint
issued by client_credentials to a client still registered with the `admin` scope.
Whatever else arrives is refused in RFC 6750 3's form: 401 with `WWW-Authenticate:
Bearer ... error="invalid_token"` for a token that is missing, unknown, expired, revoked
or its client's no longer, 403 with `error="insufficient_scope"` for one without `admin`.
A client over its rate limit ([rate_limits] admin_api) gets 429 with Retry-After."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from idp.admin.client_fields import ADMIN_SCOPE
from idp.admin_api.answers import Handler, error
from idp.audit import AuditTrail
from idp.oidc.rate_limit import RATE_LIMITED, RATE_LIMITED_TEXT

if TYPE_CHECKING:
    from idp.provider import Provider

REALM = "admin"


def _refused(status: int, code: str | None, description: str) -> Response:
    """RFC 6750 3: a request without a token gets the challenge without an error code."""
    challenge = f'Bearer realm="{REALM}"'
    if code is not None:
        challenge += f', error="{code}", error_description="{description}"'
    if code == "insufficient_scope":
        challenge += f', scope="{ADMIN_SCOPE}"'
    return error(
        status, code or "invalid_token", description, headers={"WWW-Authenticate": challenge}
    )


async def refusal(provider: Provider, request: Request) -> Response | None:
    """None if the request may go on; the refusal otherwise."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    token = value.strip()
    if scheme.lower() != "bearer" or not token:
        return _refused(401, None, "A Bearer access token is required.")
    record = await provider.oauth.find_access_token(token)
    data = record.data if record is not None else {}
    if not data or data.get("consumed") or data.get("expires_at", 0) < time.time():
        return _refused(401, "invalid_token", "The access token is not valid.")
    client = await provider.store.get_client(str(data.get("client_id", "")))
    if client is None or data.get("sub"):
        return _refused(401, "invalid_token", "The access token is not valid.")
    if ADMIN_SCOPE not in data.get("scope", "").split() or ADMIN_SCOPE not in client.scopes:
        return _refused(403, "insufficient_scope", "The token has no 'admin' scope.")
    request.state.admin_client = client.client_id
    retry_after = await provider.rate_limits.retry_after("admin_api", client.client_id)
    if retry_after is not None:
        # the code the token endpoint answers with too (see idp.oidc.rate_limit)
        return error(
            429, RATE_LIMITED, RATE_LIMITED_TEXT, headers={"Retry-After": str(retry_after)}
        )
    return None


def acting_trail(request: Request) -> AuditTrail:
    """The audit trail of this request's admin client: each change it makes is an event
    that names it as the actor."""
    provider: Provider = request.app.state.provider
    return provider.audit.acting(request.state.admin_client, request)


def admin_only(handler: Handler) -> Handler:
    async def checked(request: Request) -> Response:
        provider: Provider = request.app.state.provider
        refused = await refusal(provider, request)
        return refused if refused is not None else await handler(request)

    return checked
