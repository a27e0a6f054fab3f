"""Token minting: opaque and JWT access tokens (RFC 9068), refresh tokens, ID tokens.

The ID token carries what OpenID Connect Core 2 asks for, plus sid (Front-/Back-Channel
Logout) and the authentication context of the login: auth_time, acr and amr (RFC 8176).

The minter runs inside authlib's grants (idp.oidc.bridge): a signature is made in a
worker thread, which the grant waits for without holding up the event loop.
"""

from __future__ import annotations

import time
from typing import Any

from idp.keys import KeyRing
from idp.offload import run_sync
from idp.oidc.bridge import wait_for
from idp.oidc.claims import user_claims
from idp.oidc.models import new_token
from idp.oidc.token_hash import half_hash
from idp.settings import Settings
from idp.store import Client, User

#: the JWS type of a JWT access token (RFC 9068 2.1)
JWT_ACCESS_TOKEN = "at+jwt"


class TokenMinter:
    def __init__(self, settings: Settings, keys: KeyRing) -> None:
        self.settings = settings
        self.keys = keys
        self.issuer = settings.issuer

    def _sign(self, claims: dict[str, Any], alg: str, typ: str = "JWT") -> str:
        return wait_for(run_sync(self.keys.sign, claims, alg, typ))

    def access_token(self, client: Client, sub: str | None, scope: str, expires_in: int) -> str:
        """An opaque token, or a JWT access token (RFC 9068)."""
        if client.access_token_format != "jwt":
            return new_token()
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": sub or client.client_id,
            "aud": client.client_id,
            "client_id": client.client_id,
            "iat": now,
            "exp": now + expires_in,
            # the token's record is keyed by it (OAuthServer.save_token)
            "jti": new_token(),
            "scope": scope,
        }
        return self._sign(claims, self.keys.default_alg, JWT_ACCESS_TOKEN)

    def id_token(
        self,
        client: Client,
        user: User,
        *,
        auth: dict[str, Any],
        access_token: str | None,
        requested_claims: dict[str, Any] | None = None,
        nonce: str | None = None,
    ) -> str:
        """An ID token for `user` at `client`, signed with the client's algorithm; `auth`
        holds auth_time, acr, amr and sid."""
        alg = client.id_token_signed_response_alg
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": user.sub,
            "aud": client.client_id,
            "azp": client.client_id,
            "iat": now,
            "exp": now + self.settings.tokens.id_token_ttl,
        }
        for name in ("auth_time", "acr", "amr", "sid"):
            if auth.get(name) is not None:
                claims[name] = auth[name]
        if nonce:
            claims["nonce"] = nonce
        if access_token:
            claims["at_hash"] = half_hash(access_token, alg)
        if requested_claims:
            wanted = set(requested_claims)
            extra = user_claims(user, scopes=(), requested=wanted)
            claims.update({k: v for k, v in extra.items() if k not in claims})
        return self._sign(claims, alg)
