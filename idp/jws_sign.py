"""Compact JWS signing (RFC 7515) straight on `cryptography` keys.

jwcrypto creates, stores and publishes the keys; this module only turns a header and
claims into a signed compact token, which is the hot path of the token endpoint. Each
token is checked against jwcrypto's verifier in tests/test_keys_signing.py.
"""

from __future__ import annotations

import base64
from typing import Any

import orjson
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

_SHA256 = hashes.SHA256()
_PKCS1 = padding.PKCS1v15()
_ECDSA = ec.ECDSA(_SHA256)


def b64url(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _json(value: dict[str, Any]) -> bytes:
    return orjson.dumps(value)  # compact UTF-8


def sign_compact(
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    header: dict[str, Any],
    claims: dict[str, Any],
) -> str:
    """RS256 with an RSA key, ES256 (r||s, RFC 7518 3.4) with a P-256 key."""
    signing_input = b64url(_json(header)) + b"." + b64url(_json(claims))
    if isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(signing_input, _PKCS1, _SHA256)
    else:
        r, s = decode_dss_signature(key.sign(signing_input, _ECDSA))
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return (signing_input + b"." + b64url(signature)).decode("ascii")
