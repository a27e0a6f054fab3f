"""client_secret_basic (RFC 6749 2.3.1): the client's id and secret in an HTTP Basic header.

The header carries "Basic " and the base64 (RFC 7617 2, token68) of the UTF-8 text
"id:secret", each part form-urlencoded first (RFC 6749 Appendix B). A header that does
not decode that way names no client: it fails as a wrong secret does, with 401
invalid_client, rather than stopping the request.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from urllib.parse import unquote

from authlib.oauth2.rfc6749 import InvalidClientError, OAuth2Request

from idp.oidc.models import OAuthClient

SCHEME = "basic"


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """(client_id, client_secret) from an Authorization header; None if it holds none."""
    scheme, _, token = (header or "").partition(" ")
    if scheme.lower() != SCHEME:
        return None
    try:
        text = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):  # binascii.Error is a ValueError
        return None
    client_id, colon, secret = text.partition(":")
    if not colon:
        return None
    return unquote(client_id), unquote(secret)


def authenticate_client_secret_basic(
    query_client: Callable[[str], OAuthClient | None], request: OAuth2Request
) -> OAuthClient | None:
    """authlib's client authentication hook for client_secret_basic: the client, or None."""
    credentials = basic_credentials((request.headers or {}).get("authorization"))
    if credentials is None:
        return None
    client_id, secret = credentials
    if not client_id or not secret:
        return None
    client = query_client(client_id)
    if client is None:
        raise InvalidClientError(
            status_code=401, description="The client does not exist on this server."
        )
    return client if client.check_client_secret(secret) else None
