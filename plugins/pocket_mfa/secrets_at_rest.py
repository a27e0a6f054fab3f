"""TOTP secrets sealed at rest: compact JWE (RFC 7516), dir + A256GCM.

The user's `sub` travels in the protected header, which GCM authenticates, so a
sealed secret copied onto another user's row does not open.
"""

from __future__ import annotations

import json

from jwcrypto import jwe, jwk
from jwcrypto.common import JWException, base64url_encode

from plugins.pocket_mfa.errors import SecretUnreadable

_ALG = "dir"
_ENC = "A256GCM"


class SecretBox:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the encryption key must be 32 bytes")
        self._key = jwk.JWK(kty="oct", k=base64url_encode(key))
        self.kid = self._key.thumbprint()

    def seal(self, plaintext: str, sub: str) -> str:
        header = {"alg": _ALG, "enc": _ENC, "kid": self.kid, "sub": sub}
        protected = json.dumps(header, separators=(",", ":"), sort_keys=True)
        token = jwe.JWE(plaintext.encode(), protected=protected)
        token.add_recipient(self._key)
        return str(token.serialize(compact=True))

    def open(self, sealed: str, sub: str) -> str:
        token = jwe.JWE()
        try:
            token.deserialize(sealed, key=self._key)
        except (JWException, ValueError) as exc:
            raise SecretUnreadable("cannot decrypt (another encryption key?)") from exc
        header = json.loads(token.objects["protected"])
        if header.get("sub") != sub:
            raise SecretUnreadable("the sealed secret belongs to another user")
        return bytes(token.payload).decode()
