"""The settings of a relying party as an administrator gives them; each wrong one is an
InvalidField naming it. The same rules hold for the `idp clients` command and the API."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from jwcrypto import jwk
from jwcrypto.common import JWException

from idp.admin.errors import InvalidField
from idp.admin.user_fields import flag, text
from idp.keys import ALGORITHMS
from idp.oidc.models import CLIENT_SCOPES

GRANTS = ("authorization_code", "refresh_token", "client_credentials")
AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt")
TOKEN_FORMATS = ("opaque", "jwt")
MFA = ("required", "optional")
#: the scope of the admin API, for client_credentials clients alone
ADMIN_SCOPE = "admin"
MAX_URIS = 20
#: client ids appear in paths and forms: unreserved URL characters only
_CLIENT_ID = re.compile(r"[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,127}")

#: what PATCH may change, beside what only a new client sets (client_id, public, the
#: authentication method)
CHANGEABLE = (
    "name",
    "redirect_uris",
    "post_logout_redirect_uris",
    "grant_types",
    "scopes",
    "jwks",
    "first_party",
    "access_token_format",
    "mfa",
    "remember_browser",
    "postpone_enrollment",
    "id_token_signed_response_alg",
)
SETTABLE = (*CHANGEABLE, "client_id", "public", "token_endpoint_auth_method")


def checked(given: Mapping[str, Any], allowed: tuple[str, ...]) -> dict[str, Any]:
    """The given settings, each checked alone, as Client fields."""
    values: dict[str, Any] = {}
    for name, value in given.items():
        if name not in allowed:
            if name in SETTABLE:
                raise InvalidField(name, "cannot be changed; register a new client instead")
            raise InvalidField(name, "is not a client setting")
        values[name] = _CHECKS[name](name, value)
    return values


def one_of(choices: tuple[str, ...]) -> Any:
    def check(field: str, value: object) -> str:
        if value not in choices:
            raise InvalidField(field, f"must be one of {', '.join(choices)}")
        return str(value)

    return check


def some_of(choices: tuple[str, ...]) -> Any:
    def check(field: str, value: object) -> tuple[str, ...]:
        if not isinstance(value, list) or not value:
            raise InvalidField(field, "must be a list that is not empty")
        for item in value:
            if item not in choices:
                raise InvalidField(field, f"must hold only {', '.join(choices)}")
        if len(set(value)) != len(value):
            raise InvalidField(field, "must not name one twice")
        return tuple(value)

    return check


def uris(field: str, value: object) -> tuple[str, ...]:
    """Absolute URIs without a fragment (RFC 6749 3.1.2), such as https://app/cb or an
    app's own scheme (com.example.app:/cb)."""
    if not isinstance(value, list) or len(value) > MAX_URIS:
        raise InvalidField(field, f"must be a list of at most {MAX_URIS} URIs")
    for item in value:
        uri = text(field, item, max_length=2000, empty=False)
        try:
            parts = urlsplit(uri)
        except ValueError:
            raise InvalidField(field, f"{uri!r} is not a URI") from None
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", parts.scheme) or " " in uri:
            raise InvalidField(field, f"{uri!r} is not an absolute URI")
        if parts.fragment or uri.endswith("#"):
            raise InvalidField(field, f"{uri!r} must not have a fragment")
    return tuple(value)


def client_id(field: str, value: object) -> str:
    if not isinstance(value, str) or not _CLIENT_ID.fullmatch(value):
        raise InvalidField(field, "must be 1 to 128 letters, digits or . _ ~ - (not first: .)")
    return value


def jwks(field: str, value: object) -> dict[str, Any] | None:
    """A JWK Set of public keys, or null."""
    if value is None:
        return None
    if not isinstance(value, Mapping) or not isinstance(value.get("keys"), list):
        raise InvalidField(field, 'must be a JWK Set: an object with a list of "keys"')
    for key in value["keys"]:
        if not _public_jwk(key):
            raise InvalidField(field, "must hold public keys (JWK) only")
    return dict(value)


def _public_jwk(key: object) -> bool:
    if not isinstance(key, Mapping) or not isinstance(key.get("kty"), str):
        return False
    try:
        parsed = jwk.JWK(**key)
        return bool(parsed.has_public and not parsed.has_private)
    except (JWException, TypeError, ValueError, KeyError, AttributeError):
        return False


def _name(field: str, value: object) -> str:
    return text(field, value, empty=False)


_CHECKS: dict[str, Any] = {
    "name": _name,
    "client_id": client_id,
    "redirect_uris": uris,
    "post_logout_redirect_uris": uris,
    "public": flag,
    "grant_types": some_of(GRANTS),
    "scopes": some_of(CLIENT_SCOPES),
    "token_endpoint_auth_method": one_of(AUTH_METHODS),
    "jwks": jwks,
    "first_party": flag,
    "access_token_format": one_of(TOKEN_FORMATS),
    "mfa": one_of(MFA),
    "remember_browser": flag,
    "postpone_enrollment": flag,
    "id_token_signed_response_alg": one_of(ALGORITHMS),
}
