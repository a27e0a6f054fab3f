"""private_key_jwt client authentication (OIDC Core 9, RFC 7523 2.2), on authlib's."""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc6749 import InvalidClientError
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from idp.oidc.models import OAuthClient
from idp.store import Store


class PrivateKeyJWT(JWTBearerClientAssertion):
    """private_key_jwt (OIDC Core 9, RFC 7523 2.2); each assertion's jti is single use."""

    CLIENT_AUTH_METHOD = "private_key_jwt"
    #: what discovery advertises as token_endpoint_auth_signing_alg_values_supported
    ALGORITHMS = ("RS256", "ES256", "PS256")

    def __init__(self, token_url: str, store: Store) -> None:
        super().__init__(None, validate_jti=True)
        self.store = store
        self.audiences = [token_url, token_url.rsplit("/token", 1)[0]]

    def get_audiences(self) -> list[str]:
        # RFC 7523 3: the token endpoint URL; the issuer is accepted as well
        return self.audiences

    def process_assertion_claims(self, assertion: str, resolve_key: Any) -> Any:
        # authlib's default takes only joserfc's "recommended" algorithms, without PS256
        try:
            token = jwt.decode(assertion, resolve_key, algorithms=list(self.ALGORITHMS))
        except JoseError as error:
            raise InvalidClientError(description=error.description) from error
        self.verify_claims(token.claims)
        return token.claims

    def validate_jti(self, claims: Any, jti: str) -> bool:
        key = f"{claims['sub']}:{jti}"
        if self.store.find("assertion_jti", key) is not None:
            return False
        self.store.upsert("assertion_jti", key, {}, expires_in=3600)
        return True

    def resolve_client_public_key(self, client: OAuthClient) -> KeySet:
        return KeySet.import_key_set(client.client.jwks or {"keys": []})
