"""authlib's authorization server with this provider's grants, endpoints and storage hooks.

Everything here is synchronous, as authlib is: the adapter runs it in a greenlet on the
event loop, and a hook waits for the store with `wait_for` (idp.oidc.bridge).
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from typing import Any, cast

import orjson
from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import (
    InvalidClientError,
    InvalidGrantError,
    InvalidRequestError,
    OAuth2Payload,
    OAuth2Request,
    grants,
)
from authlib.oauth2.rfc6749.util import scope_to_list
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint

from idp.keys import KeyRing
from idp.metrics import Metrics
from idp.oidc.basic_auth import authenticate_client_secret_basic
from idp.oidc.bridge import wait_for
from idp.oidc.models import CodeRecord, OAuthClient, TokenRecord, new_token, token_id
from idp.oidc.private_key_jwt import PrivateKeyJWT
from idp.oidc.tokens import JWT_ACCESS_TOKEN, TokenMinter
from idp.settings import Settings
from idp.store import Store, User

#: what a grant's create_token_response gives: status, the token (a dict) and headers
GrantResponse = tuple[int, Any, Any]

#: record models in the store
CODE, ACCESS, REFRESH = "code", "access_token", "refresh_token"


def access_token_keys(value: str, keys: KeyRing) -> tuple[str, ...]:
    """The keys an access token's record may be stored under.

    An opaque token's record is keyed by its hash (token_id). A JWT access token's record
    is keyed by its jti, so that it is written in the grant's own transaction, before the
    token is signed; the token is only looked up once its signature checks out. A JWT
    issued before that scheme is keyed by the hash of the signed string.
    """
    if value.count(".") != 2:
        return (token_id(value),)
    claims = keys.verified_claims(value, typ=JWT_ACCESS_TOKEN)
    jti = claims.get("jti") if claims else None
    if not isinstance(jti, str) or not jti:
        return ()
    return (token_id(jti), token_id(value))


def jwt_id(value: str) -> str | None:
    """The jti of a JWT access token this server has just signed; None for an opaque one."""
    if value.count(".") != 2:
        return None
    payload = value.split(".")[1]
    claims = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    jti = claims.get("jti") if isinstance(claims, dict) else None
    return jti if isinstance(jti, str) else None


@dataclass(frozen=True)
class TokenWrite:
    """A token's record, kept once the grant has signed everything."""

    model: str
    key: str
    payload: dict[str, Any]
    expires_in: int
    grant_id: str | None


class OAuthServer(AuthorizationServer):
    def __init__(
        self, store: Store, settings: Settings, minter: TokenMinter, metrics: Metrics
    ) -> None:
        super().__init__(scopes_supported=None)
        self.store = store
        self.metrics = metrics
        self.settings = settings
        self.minter = minter
        # (authlib takes any callable; its stubs ask for its BearerTokenGenerator)
        self.register_token_generator("default", self._generate_token)  # type: ignore[arg-type]
        # authlib's own reading of the Basic header fails on one that does not decode
        self.register_client_auth_method("client_secret_basic", authenticate_client_secret_basic)
        self.register_client_auth_method(
            PrivateKeyJWT.CLIENT_AUTH_METHOD,
            PrivateKeyJWT(settings.issuer + "/token", store=store),
        )
        self.register_grant(AuthorizationCodeGrant, [CodeChallenge(required=True)])
        self.register_grant(RefreshTokenGrant)
        self.register_grant(ClientCredentialsGrant)
        self.register_endpoint(Revocation)
        self.register_endpoint(Introspection)

    def create_token_response(self, request: OAuth2Request | None = None) -> Any:
        # RFC 6749 5.2: a missing grant_type is invalid_request, not unsupported_grant_type
        if request is not None and not _payload(request).grant_type:
            return self.handle_error_response(request, InvalidRequestError("Missing 'grant_type'."))
        # what a grant writes (a code or refresh token used up, the tokens issued for it)
        # lands all together or, should the server fail midway, not at all: the adapter
        # runs every call of this server in a unit of work (Store.unit)
        return super().create_token_response(request)

    def count_issued(self, request: OAuth2Request, status: int) -> None:
        """Count the tokens of a request to the token endpoint whose writes landed (not
        those of a request that lost a race for its code or refresh token)."""
        if status == 200 and request.client is not None:
            self.metrics.token_issued(_payload(request).grant_type, _client(request).client_id)

    # --- authlib hooks
    def create_oauth2_request(self, request: OAuth2Request) -> OAuth2Request:
        return request  # built by the adapter already

    def query_client(self, client_id: str) -> OAuthClient | None:  # type: ignore[override]
        client = wait_for(self.store.get_client(client_id)) if client_id else None
        return OAuthClient(client) if client else None

    def handle_response(
        self, status: int, body: Any, headers: Any
    ) -> tuple[int, Any, list[tuple[str, str]]]:
        headers = list(headers or [])
        if isinstance(body, dict) and body.get("error") == "invalid_client":
            # RFC 6749 5.2: 401 with a challenge for the scheme the client may use
            status = 401
            if not any(k.lower() == "www-authenticate" for k, _ in headers):
                headers.append(("WWW-Authenticate", 'Basic realm="token", error="invalid_client"'))
        return status, body, headers

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        pass

    def _generate_token(
        self,
        grant_type: str,
        client: OAuthClient,
        user: User | None = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        ttl = expires_in or self.settings.tokens.access_token_ttl
        scope = scope or ""
        sub = user.sub if user else None
        token: dict[str, Any] = {
            "token_type": "Bearer",
            "access_token": self.minter.access_token(client.client, sub, scope, ttl),
            "expires_in": ttl,
            "scope": scope,
        }
        if include_refresh_token:
            token["refresh_token"] = new_token()
        return token

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        now = int(time.time())
        client = _client(request)
        user: User | None = request.user
        auth: dict[str, Any] = {}
        userinfo_claims: list[str] = []
        # a client_credentials token is a grant of its own and is revoked on its own,
        # so it needs no grant id (nor a row in the grant index)
        grant_id: str | None = None
        if request.authorization_code is not None:
            code = request.authorization_code.data
            grant_id = code["grant_id"]
            auth = code.get("auth", {})
            userinfo_claims = list(code.get("claims", {}).get("userinfo", {}))
        elif request.refresh_token is not None:
            grant_id = request.refresh_token.grant_id
            auth = request.refresh_token.data.get("auth", {})
            userinfo_claims = request.refresh_token.data.get("userinfo_claims", [])
        base = {
            "client_id": client.client_id,
            "sub": user.sub if user else None,
            "scope": token.get("scope", ""),
            "grant_id": grant_id,
            "iat": now,
            "userinfo_claims": userinfo_claims,
        }
        ttl = int(token["expires_in"])
        access_token = token["access_token"]
        # a JWT access token is stored under its jti (access_token_keys)
        jti = jwt_id(access_token)
        records = [
            TokenWrite(
                ACCESS,
                token_id(jti if jti is not None else access_token),
                {**base, "expires_at": now + ttl},
                ttl,
                grant_id,
            )
        ]
        if "refresh_token" in token:
            rttl = self.settings.tokens.refresh_token_ttl
            records.append(
                TokenWrite(
                    REFRESH,
                    token_id(token["refresh_token"]),
                    {**base, "expires_at": now + rttl, "auth": auth},
                    rttl,
                    grant_id,
                )
            )
        # written by the grant once every token is signed (write_tokens)
        request.token_writes = records  # type: ignore[attr-defined]

    def write_tokens(self, request: OAuth2Request) -> None:
        """Keep the records of the tokens save_token made."""
        for record in request.token_writes:  # type: ignore[attr-defined]
            wait_for(
                self.store.upsert(
                    record.model,
                    record.key,
                    record.payload,
                    expires_in=record.expires_in,
                    grant_id=record.grant_id,
                )
            )

    async def find_token(self, value: str, hint: str | None = None) -> TokenRecord | None:
        """An access or refresh token, looked for first as the hint says."""
        if hint == "refresh_token":
            return await self.find_refresh_token(value) or await self.find_access_token(value)
        return await self.find_access_token(value) or await self.find_refresh_token(value)

    async def find_access_token(self, value: str) -> TokenRecord | None:
        for key in access_token_keys(value, self.minter.keys):
            data = await self.store.find(ACCESS, key)
            if data is not None:
                return TokenRecord(ACCESS, key, data)
        return None

    async def find_refresh_token(self, value: str) -> TokenRecord | None:
        key = token_id(value)
        data = await self.store.find(REFRESH, key)
        return TokenRecord(REFRESH, key, data) if data is not None else None


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    """RFC 6749 4.1 at the token endpoint; the authorization endpoint is authorize.py."""

    TOKEN_ENDPOINT_AUTH_METHODS = [
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
        "none",
    ]
    server: OAuthServer

    def query_authorization_code(  # type: ignore[override]
        self, code: str, client: OAuthClient
    ) -> CodeRecord | None:
        store = self.server.store
        code_id = token_id(code)
        data = wait_for(store.find(CODE, code_id))
        if data is None or data.get("client_id") != client.client_id:
            return None
        if data.get("consumed"):
            # RFC 6749 4.1.2: a code used twice revokes what it was exchanged for
            wait_for(store.revoke_by_grant_id(data["grant_id"]))
            return None
        return CodeRecord(code_id, data)

    def delete_authorization_code(self, authorization_code: CodeRecord) -> None:
        # consumed in create_token_response instead; the record stays until it expires so
        # that reuse is noticed
        pass

    def authenticate_user(self, authorization_code: CodeRecord) -> User | None:
        user = wait_for(self.server.store.get_user(authorization_code.data["sub"]))
        return None if user is None or user.disabled else user

    def generate_token(
        self,
        user: User | None = None,
        scope: str | None = None,
        grant_type: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, str | int]:
        # refresh tokens only where asked for with offline_access (OIDC Core 11)
        include = include_refresh_token and "offline_access" in scope_to_list(scope or "")
        return super().generate_token(user, scope, grant_type, expires_in, include)

    def create_token_response(self) -> GrantResponse:
        # The code is used up only once the request has passed every check (redirect_uri,
        # PKCE), so that a failed exchange leaves it to the client that holds the
        # verifier. Every token is signed before anything is written: the writes (the
        # code used up, the tokens kept) then follow one another in the unit of work.
        code = cast(CodeRecord, self.request.authorization_code)  # (validated: it is there)
        status, token, headers = _token_response(super().create_token_response())
        if "openid" in scope_to_list(token.get("scope", "")):
            token["id_token"] = self.server.minter.id_token(
                _client(self.request).client,
                _user(self.request),
                auth=code.data.get("auth", {}),
                access_token=token["access_token"],
                requested_claims=code.data.get("claims", {}).get("id_token"),
                nonce=code.data.get("nonce"),
            )
        # used up with the tokens' writes: should a concurrent request have used it in
        # the meantime, none of them lands, and the adapter treats it as reuse
        wait_for(self.server.store.use_up(CODE, code.code_id))
        self.server.write_tokens(self.request)
        return status, token, headers


class RefreshTokenGrant(grants.RefreshTokenGrant):
    """RFC 6749 6, rotated on every use; a reused refresh token revokes its family."""

    TOKEN_ENDPOINT_AUTH_METHODS = AuthorizationCodeGrant.TOKEN_ENDPOINT_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True
    server: OAuthServer

    def authenticate_refresh_token(  # type: ignore[override]
        self, refresh_token: str
    ) -> TokenRecord | None:
        store = self.server.store
        key = token_id(refresh_token)
        data = wait_for(store.find(REFRESH, key))
        if data is None:
            return None
        if data.get("consumed"):
            wait_for(store.revoke_by_grant_id(data["grant_id"]))
            return None
        return TokenRecord(REFRESH, key, data)

    def authenticate_user(self, refresh_token: TokenRecord) -> User | None:
        user = (
            wait_for(self.server.store.get_user(refresh_token.sub)) if refresh_token.sub else None
        )
        return None if user is None or user.disabled else user

    def revoke_old_credential(self, refresh_token: TokenRecord) -> None:  # type: ignore[override]
        pass  # consumed with the new tokens' writes, in create_token_response

    def create_token_response(self) -> GrantResponse:
        # signed first, then written together (see AuthorizationCodeGrant)
        old = cast(TokenRecord, self.request.refresh_token)  # (validated: it is there)
        status, token, headers = _token_response(super().create_token_response())
        if "openid" in scope_to_list(token.get("scope", "")):
            token["id_token"] = self.server.minter.id_token(
                _client(self.request).client,
                _user(self.request),
                auth=old.data.get("auth", {}),
                access_token=token["access_token"],
            )
        wait_for(self.server.store.use_up(REFRESH, old.record_id))  # (as a code is)
        self.server.write_tokens(self.request)
        return status, token, headers


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = [
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
    ]

    def create_token_response(self) -> GrantResponse:
        # no user, no openid: only the client's own non-OIDC scopes
        client = _client(self.request)
        requested = _payload(self.request).scope
        allowed = client.get_allowed_scope(requested)
        scope = " ".join(s for s in scope_to_list(allowed) if s not in ("openid", "offline_access"))
        token = self.generate_token(scope=scope, include_refresh_token=False)
        self.save_token(token)  # type: ignore[no-untyped-call]
        self.server.write_tokens(self.request)
        return 200, token, self.TOKEN_RESPONSE_HEADER


class TokenLookup:
    """What revocation and introspection share: confidential clients only, a required
    token, and a token_type_hint that is only a hint (RFC 7009 2.1, RFC 7662 2.1): one we
    do not know is ignored, since find_token searches every kind anyway."""

    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"]
    server: OAuthServer

    def check_params(self, request: OAuth2Request, client: OAuthClient) -> None:
        if not request.form.get("token"):
            raise InvalidRequestError("Missing 'token'.")

    def query_token(self, token_string: str, token_type_hint: str | None) -> TokenRecord | None:
        return wait_for(self.server.find_token(token_string, token_type_hint))


class Revocation(TokenLookup, RevocationEndpoint):
    """RFC 7009: revoking a refresh token revokes its whole grant."""

    def revoke_token(self, token: TokenRecord, request: OAuth2Request) -> None:
        if token.kind == REFRESH:
            wait_for(self.server.store.revoke_by_grant_id(token.grant_id))
        else:
            wait_for(self.server.store.destroy(token.kind, token.record_id))


class Introspection(TokenLookup, IntrospectionEndpoint):
    """RFC 7662, for confidential clients; any of them may introspect any token."""

    def check_permission(self, token: TokenRecord, client: OAuthClient, request: Any) -> bool:
        return not client.client.public

    def introspect_token(self, token: TokenRecord) -> dict[str, Any]:
        data = token.data
        payload: dict[str, Any] = {
            "active": True,
            "client_id": data["client_id"],
            "scope": data.get("scope", ""),
            "token_type": "Bearer" if token.kind == ACCESS else "refresh_token",
            "exp": int(data["expires_at"]),
            "iat": int(data["iat"]),
            "iss": self.server.settings.issuer,
        }
        if data.get("sub"):
            payload["sub"] = data["sub"]
            user = wait_for(self.server.store.get_user(data["sub"]))
            if user:
                payload["username"] = user.username
        return payload


def _payload(request: OAuth2Request) -> OAuth2Payload:
    """The request's parameters: the adapter reads them into every request it builds."""
    if request.payload is None:
        raise InvalidRequestError("The request has no parameters.")
    return request.payload


def _client(request: OAuth2Request) -> OAuthClient:
    """The client authlib authenticated: a grant or a count runs only after that."""
    if not isinstance(request.client, OAuthClient):
        raise InvalidClientError()
    return request.client


def _user(request: OAuth2Request) -> User:
    """The user of a code or refresh token: a grant that found none has failed already."""
    if not isinstance(request.user, User):
        raise InvalidGrantError()
    return request.user


def _token_response(response: GrantResponse) -> tuple[int, dict[str, Any], Any]:
    """A grant's (status, body, headers): its body is the token, a dict (authlib's stubs
    say a str)."""
    status, body, headers = response
    return status, cast("dict[str, Any]", body), headers
