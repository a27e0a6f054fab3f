"""The token, introspection and revocation endpoints' rate limit: per client, counted
before the client authenticates (so that a client over its limit costs no secret check).

The client is the one the request names: the id of its Basic header (RFC 6749 2.3.1),
its `client_id` parameter, or the issuer of its client assertion (RFC 7523 3, read
without its signature: it only chooses the counter). A request naming none is counted
by its address.
"""

from __future__ import annotations

import base64
import binascii

import orjson
from authlib.oauth2.rfc6749.errors import OAuth2Error
from starlette.requests import Request

from idp.oidc.basic_auth import basic_credentials

#: RFC 6749 has no error code for too many requests, and authlib none either. RFC 8628
#: 3.5's `slow_down` tells a device-flow client to poll its token less often, which a
#: client of another grant would misread. `temporarily_unavailable` (RFC 6749 4.1.2.1)
#: is OAuth's one code for "try again later", as this server already answers while its
#: store is down; the 429 status (RFC 6585 4) and Retry-After say why and how long.
RATE_LIMITED = "temporarily_unavailable"
RATE_LIMITED_TEXT = "Too many requests from this client; try again after Retry-After seconds."


def named_client(request: Request, form: dict[str, str]) -> str:
    """The counter a request is counted on: its client, or its address."""
    credentials = basic_credentials(request.headers.get("authorization"))
    if credentials is not None and credentials[0]:
        return "client:" + credentials[0]
    if form.get("client_id"):
        return "client:" + form["client_id"]
    issuer = _assertion_issuer(form.get("client_assertion", ""))
    if issuer:
        return "client:" + issuer
    return "address:" + (request.client.host if request.client else "unknown")


def _assertion_issuer(assertion: str) -> str | None:
    parts = assertion.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = orjson.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error, orjson.JSONDecodeError):
        return None
    issuer = claims.get("iss") if isinstance(claims, dict) else None
    return issuer if isinstance(issuer, str) else None


def rate_limited(retry_after: int) -> tuple[int, dict[str, str], list[tuple[str, str]]]:
    """The answer to a request over the limit, as authlib's (status, body, headers)."""
    status, body, headers = OAuth2Error(
        description=RATE_LIMITED_TEXT, status_code=429, error=RATE_LIMITED
    )()
    return status, body, [*headers, ("Retry-After", str(retry_after))]
