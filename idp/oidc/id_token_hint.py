"""Reading back an ID token this provider issued (id_token_hint in authorize and logout).

The keys that sign ID tokens sign JWT access tokens as well (RFC 9068), and those travel
to resource servers. A hint is "an ID Token previously issued by the OP" (RP-Initiated
Logout 1.0, section 2; Core 3.1.2.1), so anything else our keys signed is refused: by
its JOSE type, and by claims an ID token always has or never has.
"""

from __future__ import annotations

import json
from typing import Any

from jwcrypto import jws
from jwcrypto.common import JWException

from idp.keys import KeyRing

#: the JOSE "typ" of a JWT (RFC 7519 5.1), compared without regard to case (RFC 7515 4.1.9)
_JWT_TYPES = frozenset({"jwt", "application/jwt"})
#: claims every ID token carries (Core 2)
_ID_TOKEN_CLAIMS = ("iss", "sub", "aud", "exp", "iat")
#: claims of a JWT access token (RFC 9068 2.2) that no ID token of ours carries
_ACCESS_TOKEN_CLAIMS = ("client_id", "scope")


def _is_jwt_type(header: dict[str, Any]) -> bool:
    """typ is optional in an ID token; when present it must say JWT (not at+jwt)."""
    typ = header.get("typ")
    return typ is None or (isinstance(typ, str) and typ.lower() in _JWT_TYPES)


def _looks_like_id_token(claims: dict[str, Any]) -> bool:
    if any(name not in claims for name in _ID_TOKEN_CLAIMS):
        return False
    if any(name in claims for name in _ACCESS_TOKEN_CLAIMS):
        return False
    return isinstance(claims["sub"], str) and bool(audiences(claims))


def read_id_token(keys: KeyRing, token: str, issuer: str) -> dict[str, Any] | None:
    """The claims of an ID token signed by our keys for our issuer, or None for anything
    else. Expiry is not checked, since a hint may be an expired ID token (Core 3.1.2.1,
    RP-Initiated Logout 1.0 section 2)."""
    try:
        obj = jws.JWS()
        obj.deserialize(token)
        header = obj.jose_header
        if not _is_jwt_type(header):
            return None
        key = keys.public_key(str(header.get("kid", "")))
        if key is None or header.get("alg") != key.get("alg"):
            return None
        obj.verify(key, alg=key.get("alg"))
        claims = json.loads(obj.payload)
    except (JWException, ValueError, TypeError, KeyError):
        return None
    if not isinstance(claims, dict) or claims.get("iss") != issuer:
        return None
    return claims if _looks_like_id_token(claims) else None


def audiences(claims: dict[str, Any]) -> list[str]:
    aud = claims.get("aud")
    if isinstance(aud, str):
        return [aud]
    return [a for a in aud if isinstance(a, str)] if isinstance(aud, list) else []
