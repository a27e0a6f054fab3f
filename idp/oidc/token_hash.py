"""The left-half hashes of OpenID Connect: at_hash and c_hash (Core 3.1.3.6, 3.3.2.11)."""

from __future__ import annotations

import base64
import hashlib

_HASHES = {"RS256": hashlib.sha256, "ES256": hashlib.sha256}


def half_hash(value: str, alg: str) -> str:
    """The left half of the hash of the ASCII value, with the hash of the token's alg."""
    digest = _HASHES.get(alg, hashlib.sha256)(value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()
