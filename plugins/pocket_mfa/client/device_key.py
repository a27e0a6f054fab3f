"""The device's key pair: made at pairing, kept in the state file; it signs device
tokens (JWT, RFC 7519) and answers (ES256 raw r||s, or Ed25519)."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from jwcrypto.jwk import JWK
from jwcrypto.jwt import JWT

from plugins.pocket_mfa.push.protocol import MAX_TOKEN_LIFETIME

KEY_TYPES = {"ec": "ES256", "ed25519": "EdDSA"}


def generate(kind: str = "ec") -> tuple[dict[str, Any], str]:
    """A new private JWK and its algorithm."""
    if kind == "ed25519":
        return json.loads(JWK.generate(kty="OKP", crv="Ed25519").export_private()), "EdDSA"
    return json.loads(JWK.generate(kty="EC", crv="P-256").export_private()), "ES256"


def public_part(private_jwk: dict[str, Any]) -> dict[str, Any]:
    key = JWK.from_json(json.dumps(private_jwk))
    public: dict[str, Any] = json.loads(key.export_public())
    return public


def device_token(
    private_jwk: dict[str, Any],
    alg: str,
    device_id: str,
    audience: str,
    lifetime: int = 60,
    now: float | None = None,
) -> str:
    """A fresh single-use token for one request."""
    issued = int(time.time() if now is None else now)
    claims = {
        "iss": device_id,
        "aud": audience,
        "iat": issued,
        "exp": issued + min(lifetime, MAX_TOKEN_LIFETIME),
        "jti": secrets.token_urlsafe(16),
    }
    token = JWT(header={"alg": alg, "typ": "JWT"}, claims=claims)
    token.make_signed_token(JWK.from_json(json.dumps(private_jwk)))
    return str(token.serialize())


def sign(private_jwk: dict[str, Any], message: bytes) -> bytes:
    key = JWK.from_json(json.dumps(private_jwk)).get_op_key("sign")
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(message)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        r, s = decode_dss_signature(key.sign(message, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    raise ValueError("unsupported device key")
