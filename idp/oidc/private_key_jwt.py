"""private_key_jwt client authentication (OIDC Core 9, RFC 7523 2.2), on authlib's."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from authlib.oauth2.rfc6749 import InvalidClientError
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from idp.json_input import JsonInputError, parse_json
from idp.oidc.bridge import wait_for
from idp.oidc.error_text import shown
from idp.oidc.models import OAuthClient
from idp.store import Store

if TYPE_CHECKING:
    from joserfc.jwk import KeySetSerialization


class PrivateKeyJWT(JWTBearerClientAssertion):
    """private_key_jwt (OIDC Core 9, RFC 7523 2.2); each assertion's jti is single use."""

    CLIENT_AUTH_METHOD = "private_key_jwt"  # type: ignore[misc]
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
            # joserfc's descriptions may quote the header, which is the client's text
            raise InvalidClientError(description=shown(error.description, 80)) from error
        self.verify_claims(token.claims)
        return token.claims

    def extract_assertion(self, assertion: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """Header and claims, read before any signature is checked, to find the client.

        As authlib's, but the claims go through the bounded JSON parser (json_input):
        authlib's json.loads recurses once per level of nesting and lets lone surrogates
        through, which the store cannot keep (the jti). A "crit" that is not a list of
        names (RFC 7515 4.1.11) is refused here: joserfc fails on it with a TypeError.
        """
        try:
            obj = jws.extract_compact(assertion.encode())
            claims = parse_json(obj.payload)
        except (JoseError, JsonInputError):
            raise InvalidClientError(description="Invalid JWT assertion.") from None
        header: dict[str, Any] = obj.headers()
        crit = header.get("crit", [])
        if not isinstance(crit, list) or not all(isinstance(name, str) for name in crit):
            raise InvalidClientError(description="Invalid JWT header: 'crit'.")
        if not isinstance(claims, dict):
            raise InvalidClientError(description="Invalid JWT payload.")
        return header, claims

    def validate_jti(self, claims: Any, jti: str) -> bool:
        # counted, not looked up and then kept: two requests with one assertion at once
        # cannot both pass
        seen = wait_for(self.store.hit(f"assertion-jti:{claims['sub']}:{jti}", 3600))
        return seen == 1

    def resolve_client_public_key(self, client: OAuthClient) -> KeySet:
        # an assertion may name any client; one without keys (a client with a secret)
        # cannot have signed it, and joserfc refuses an empty key set with its own error
        jwks = client.client.jwks
        if not isinstance(jwks, dict) or not jwks.get("keys"):
            raise InvalidClientError(description="The client has no keys for private_key_jwt.")
        return KeySet.import_key_set(cast("KeySetSerialization", jwks))
