"""PKCE (RFC 7636) for the provider's own built-in relying parties (demo, account page)."""

from __future__ import annotations

import base64
import hashlib
import secrets


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def new_pair() -> tuple[str, str]:
    """A fresh (code_verifier, code_challenge) pair."""
    verifier = secrets.token_urlsafe(48)
    return verifier, s256(verifier)
