"""Reading back an ID token this provider issued (id_token_hint in authorize and logout)."""

from __future__ import annotations

import json
from typing import Any

from jwcrypto import jws
from jwcrypto.common import JWException

from idp.keys import KeyRing


def read_id_token(keys: KeyRing, token: str, issuer: str) -> dict[str, Any] | None:
    """The claims if our signature verifies and the issuer is ours; expiry is not checked,
    since a hint may be an expired ID token (Core 3.1.2.1, RP-Initiated Logout 2)."""
    try:
        obj = jws.JWS()
        obj.deserialize(token)
        header = obj.jose_header
        key = keys.public_key(str(header.get("kid", "")))
        if key is None or header.get("alg") not in ("RS256", "ES256"):
            return None
        obj.verify(key, alg=header["alg"])
        claims = json.loads(obj.payload)
    except (JWException, ValueError, TypeError, KeyError):
        return None
    if not isinstance(claims, dict) or claims.get("iss") != issuer or "sub" not in claims:
        return None
    return claims


def audiences(claims: dict[str, Any]) -> list[str]:
    aud = claims.get("aud")
    if isinstance(aud, str):
        return [aud]
    return [a for a in aud if isinstance(a, str)] if isinstance(aud, list) else []
