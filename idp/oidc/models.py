"""authlib's model mixins over the store's records: clients, codes and tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from typing import Any

from authlib.oauth2.rfc6749 import AuthorizationCodeMixin, ClientMixin, TokenMixin
from authlib.oauth2.rfc6749.util import scope_to_list

from idp.store import Client

#: the scopes this provider knows; others in a request are ignored (OIDC Core 3.1.2.1)
SCOPES = ("openid", "profile", "email", "address", "phone", "offline_access")
#: what a client may be registered with: those, and `admin`, the scope of the admin API,
#: which only a client_credentials client may hold (idp.admin.client_fields)
CLIENT_SCOPES = (*SCOPES, "admin")


#: hex digits of the time of issue (milliseconds) that codes and tokens issued before
#: version 2 of the store carry in front
_STAMP = 12
_HEX = frozenset("0123456789abcdef")


def new_token() -> str:
    """A code, refresh token, opaque access token or jti: 256 random bits, which tell a
    holder nothing, not even when it was issued."""
    return secrets.token_urlsafe(32)


def token_id(value: str) -> str:
    """The key a code or token is stored under: its hash, never the value itself.

    A token issued before version 2 of the store began with its time of issue, which
    stayed in front of its hash in the key; such a token is still found under that key.
    """
    digest = hashlib.sha256(value.encode()).hexdigest()
    stamp = value[:_STAMP]
    if len(value) == _STAMP + 43 and _HEX.issuperset(stamp):
        return f"{stamp}{digest}"
    return digest


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class OAuthClient(ClientMixin):
    def __init__(self, client: Client) -> None:
        self.client = client
        self.client_id = client.client_id

    def get_client_id(self) -> str:
        return self.client.client_id

    def get_default_redirect_uri(self) -> str | None:  # type: ignore[override]
        uris = self.client.redirect_uris
        return uris[0] if len(uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str:  # type: ignore[override]
        if not scope:
            return " ".join(self.client.scopes)
        allowed = set(self.client.scopes)
        return " ".join(s for s in scope_to_list(scope) if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.client.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        if not self.client.secret_hash:
            return False
        return hmac.compare_digest(hash_secret(client_secret), self.client.secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.client.public:
            return method == "none"
        if endpoint == "token":
            return method == self.client.token_endpoint_auth_method
        # revocation and introspection accept any secret-based method of a confidential client
        return method in ("client_secret_basic", "client_secret_post", "private_key_jwt")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and "authorization_code" in self.client.grant_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.client.grant_types


class CodeRecord(AuthorizationCodeMixin):
    """An authorization code as the token endpoint sees it."""

    def __init__(self, code_id: str, data: dict[str, Any]) -> None:
        self.code_id = code_id
        self.data = data
        self.code_challenge = data.get("code_challenge")
        self.code_challenge_method = data.get("code_challenge_method")

    def get_redirect_uri(self) -> str:
        return str(self.data["redirect_uri"])

    def get_scope(self) -> str:
        return str(self.data["scope"])

    def get_nonce(self) -> str | None:
        return self.data.get("nonce")

    def get_auth_time(self) -> int | None:
        return self.data.get("auth_time")

    def get_acr(self) -> str | None:
        return self.data.get("acr")

    def get_amr(self) -> list[str] | None:
        return self.data.get("amr")


class TokenRecord(TokenMixin):
    """An access or refresh token as stored: kind, client, user, scope and grant."""

    def __init__(self, kind: str, record_id: str, data: dict[str, Any]) -> None:
        self.kind = kind
        self.record_id = record_id
        self.data = data

    @property
    def grant_id(self) -> str:
        return str(self.data["grant_id"])

    @property
    def sub(self) -> str | None:
        return self.data.get("sub")

    def check_client(self, client: ClientMixin) -> bool:
        return bool(self.data.get("client_id") == client.get_client_id())

    def get_scope(self) -> str:
        return str(self.data.get("scope", ""))

    def get_expires_in(self) -> int:
        return int(self.data["expires_at"] - self.data["iat"])

    def is_expired(self) -> bool:
        return bool(self.data["expires_at"] < time.time())

    def is_revoked(self) -> bool:
        return bool(self.data.get("consumed"))

    def get_user(self) -> str | None:
        return self.sub

    def get_client(self) -> Any:
        return self.data.get("client_id")
