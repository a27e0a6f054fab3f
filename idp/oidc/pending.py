"""Tokens whose claims are settled but which are not signed yet.

A grant runs in place on the event loop: it is dictionary look-ups and a few sqlite
statements. Only the signatures are CPU work worth a worker thread, so the grant puts
a `PendingJWT` where a signed token belongs, and the adapter signs every one of them
in a single trip to a worker thread before the response leaves (`sign_all`). Only an
ID token's at_hash depends on the final string of another token, a JWT access token, and
is computed once that one is signed. Nothing stored depends on it: a JWT access token's
record is keyed by its jti (server.access_token_keys).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from idp.oidc.token_hash import half_hash


class Signer(Protocol):
    def sign(self, claims: dict[str, object], alg: str | None = None, typ: str = "JWT") -> str: ...


@dataclass
class PendingJWT:
    signer: Signer
    claims: dict[str, Any]
    alg: str
    typ: str = "JWT"
    #: for an ID token: the access token its at_hash is computed over (Core 3.1.3.6)
    at_hash_of: PendingJWT | None = None
    value: str | None = None

    def sign(self) -> str:
        """Blocking: sign (after the token this one's at_hash depends on)."""
        if self.value is None:
            if self.at_hash_of is not None:
                self.claims["at_hash"] = half_hash(self.at_hash_of.sign(), self.alg)
            self.value = self.signer.sign(self.claims, alg=self.alg, typ=self.typ)
        return self.value


def sign_all(tokens: Iterable[PendingJWT]) -> list[str]:
    """Blocking: sign every token (for a worker thread)."""
    return [token.sign() for token in tokens]
