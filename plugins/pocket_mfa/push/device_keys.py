"""Device public keys: checking what a phone sends at pairing, and its signatures.

A device key is an EC P-256 key (ES256, RFC 7518 section 3.4: raw r||s) or an
Ed25519 key (EdDSA, RFC 8037). Only the public half is ever accepted or kept.
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from jwcrypto.common import JWException
from jwcrypto.jwk import JWK

from plugins.pocket_mfa.push.errors import InvalidRequest
from plugins.pocket_mfa.push.protocol import ALGS

#: members of a private JWK (RFC 7518 section 6.2.2 and 6.3.2, RFC 8037)
_PRIVATE = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
_PUBLIC = ("kty", "crv", "x", "y")


def public_jwk(value: Any) -> tuple[dict[str, str], str]:
    """The accepted public JWK (public members only) and its algorithm; InvalidRequest else."""
    if not isinstance(value, dict):
        raise InvalidRequest("public_key must be a JWK object")
    if any(member in value for member in _PRIVATE):
        raise InvalidRequest("public_key contains private key material; send the public key only")
    alg = ALGS.get((str(value.get("kty")), str(value.get("crv"))))
    if alg is None:
        raise InvalidRequest("public_key must be an EC P-256 or OKP Ed25519 JWK")
    kept = {k: value[k] for k in _PUBLIC if k in value}
    if not all(isinstance(v, str) for v in kept.values()):
        raise InvalidRequest("public_key members must be strings")
    try:
        load_key(kept)
    except (JWException, ValueError, TypeError) as e:
        raise InvalidRequest(f"public_key is not a usable key: {e}") from None
    return kept, alg


def load_key(jwk: dict[str, str]) -> JWK:
    key = JWK.from_json(json.dumps(jwk))
    if key.has_private:
        raise ValueError("a private key")
    key.get_op_key("verify")  # decodes the point: a bad one fails here
    return key


def verify(jwk: dict[str, str], message: bytes, signature: bytes) -> bool:
    """Whether `signature` (raw r||s for ES256, plain for Ed25519) signs `message`."""
    pub = load_key(jwk).get_op_key("verify")
    try:
        if isinstance(pub, ed25519.Ed25519PublicKey):
            pub.verify(signature, message)
            return True
        if isinstance(pub, ec.EllipticCurvePublicKey) and len(signature) == 64:
            r = int.from_bytes(signature[:32], "big")
            s = int.from_bytes(signature[32:], "big")
            pub.verify(encode_dss_signature(r, s), message, ec.ECDSA(hashes.SHA256()))
            return True
    except InvalidSignature:
        return False
    return False
