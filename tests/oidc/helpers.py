"""Shared steps of the protocol tests: a whole code flow, JWT checks, client authentication."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from typing import Any

from jwcrypto import jwk, jws
from jwcrypto.common import json_encode

from tests.conftest import (
    ISSUER,
    RP,
    Env,
    authorize,
    exchange,
    hidden_inputs,
    login,
    pkce_pair,
    query_of,
    submit_password,
)

#: re-exported from the shared fixtures, so that the tests import from one place
__all__ = [
    "ALL_SCOPES",
    "ISSUER",
    "RP",
    "Env",
    "authorize",
    "exchange",
    "hidden_inputs",
    "login",
    "pkce_pair",
    "query_of",
    "submit_password",
]

ALL_SCOPES = "openid profile email offline_access"
TOKEN_URL = f"{ISSUER}/token"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


# --- flows
def code_flow(
    env: Env,
    client_id: str = "rp",
    secret: str = "s3cret",
    username: str = "alice",
    **params: str,
) -> dict[str, Any]:
    """Log in (if needed), exchange the code, and return the token response as JSON."""
    query = login(env, username=username, client_id=client_id, **params)
    assert "code" in query, query
    response = exchange(env, query["code"], secret=secret, client_id=client_id)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def login_location(env: Env, **params: str) -> str:
    """Start an authorization that must show the login page; its location."""
    response = authorize(env, **params)
    assert response.status_code == 303, response.text
    location: str = response.headers["location"]
    assert location.startswith("/login/"), location
    return location


def bare_authorize(env: Env, **params: str) -> Any:
    """An authorization request with only these parameters (besides the client's own)."""
    query = {"response_type": "code", "client_id": "rp", "redirect_uri": RP, **params}
    return env.client.get("/authorize", params=query)


def redirect_query(response: Any, to: str = RP) -> dict[str, str]:
    """The query of a redirect back to the relying party."""
    assert response.status_code in (302, 303), response.text
    location: str = response.headers["location"]
    assert location.startswith(to), location
    return query_of(location)


def authorize_error(env: Env, **params: str) -> dict[str, str]:
    """An authorization request that must redirect back with an error; its query."""
    query = redirect_query(authorize(env, **params))
    assert "error" in query, query
    assert "code" not in query, query
    return query


def assert_error_page(response: Any) -> None:
    """An HTML error page, 400, and no redirect anywhere (OIDC Core 3.1.2.6)."""
    assert response.status_code == 400, response.text
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")
    assert 'role="alert"' in response.text


def token_error(response: Any, status: int = 400) -> str:
    """The error code of a JSON error from the token-side endpoints (RFC 6749 5.2)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["cache-control"] == "no-store"
    error: str = response.json()["error"]
    return error


def public_client(env: Env, client_id: str = "spa", **fields: Any) -> Any:
    return env.add_client(
        client_id, secret=None, public=True, token_endpoint_auth_method="none", **fields
    )


def public_code(env: Env, client_id: str = "spa", **params: str) -> tuple[str, str]:
    """Log in through a public client with PKCE S256: (code, verifier)."""
    verifier, challenge = pkce_pair()
    query = login(
        env,
        client_id=client_id,
        code_challenge=challenge,
        code_challenge_method="S256",
        **params,
    )
    return query["code"], verifier


def public_exchange(env: Env, code: str, verifier: str | None, client_id: str = "spa") -> Any:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": RP,
        "client_id": client_id,
    }
    if verifier is not None:
        data["code_verifier"] = verifier
    return env.client.post("/token", data=data)


def refresh(
    env: Env, refresh_token: str, client_id: str = "rp", secret: str = "s3cret", **extra: str
) -> Any:
    return env.client.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token, **extra},
        auth=(client_id, secret),
    )


def userinfo(env: Env, access_token: str) -> Any:
    return env.client.get("/userinfo", headers={"Authorization": f"Bearer {access_token}"})


def revoke(
    env: Env, token: str, client_id: str = "rp", secret: str = "s3cret", **extra: str
) -> Any:
    return env.client.post("/revoke", data={"token": token, **extra}, auth=(client_id, secret))


def introspect(
    env: Env, token: str, client_id: str = "rp", secret: str = "s3cret", **extra: str
) -> Any:
    return env.client.post("/introspect", data={"token": token, **extra}, auth=(client_id, secret))


def session_cookie(env: Env) -> str | None:
    value: str | None = env.client.cookies.get(env.settings.session.cookie_name)
    return value


# --- JWTs
def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def b64json(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def jwt_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims of a compact JWT, unverified."""
    header, payload = token.split(".")[:2]
    return json.loads(_b64decode(header)), json.loads(_b64decode(payload))


def fetch_jwks(env: Env) -> jwk.JWKSet:
    response = env.client.get("/jwks")
    assert response.status_code == 200, response.text
    return jwk.JWKSet.from_json(response.text)


def verify_jwt(env: Env, token: str) -> dict[str, Any]:
    """Verify the signature against the published JWKS (by kid); the claims."""
    header, _ = jwt_parts(token)
    key = fetch_jwks(env).get_key(header["kid"])
    assert key is not None, f"kid {header['kid']} is not in the JWKS"
    obj = jws.JWS()
    obj.deserialize(token)
    obj.verify(key, alg=header["alg"])
    claims: dict[str, Any] = json.loads(obj.payload)
    return claims


def left_half_hash(value: str) -> str:
    """at_hash for RS256 and ES256 (OIDC Core 3.1.3.6)."""
    digest = hashlib.sha256(value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


# --- private_key_jwt
def add_private_key_client(env: Env, client_id: str = "pkjwt", kty: str = "RSA") -> jwk.JWK:
    """A confidential client that authenticates with private_key_jwt; its private key."""
    if kty == "RSA":
        key = jwk.JWK.generate(kty="RSA", size=2048, kid=f"{client_id}-key")
    else:
        key = jwk.JWK.generate(kty="EC", crv="P-256", kid=f"{client_id}-key")
    env.add_client(
        client_id,
        secret=None,
        token_endpoint_auth_method="private_key_jwt",
        jwks={"keys": [json.loads(key.export_public())]},
    )
    return key


def client_assertion(
    key: jwk.JWK,
    client_id: str = "pkjwt",
    audience: str = TOKEN_URL,
    alg: str | None = None,
    **overrides: Any,
) -> str:
    """A signed client assertion (RFC 7523 3, OIDC Core 9)."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + 60,
        **overrides,
    }
    claims = {k: v for k, v in claims.items() if v is not None}  # None leaves a claim out
    alg = alg or ("RS256" if key.get("kty") == "RSA" else "ES256")
    token = jws.JWS(json.dumps(claims).encode())
    token.add_signature(key, alg=alg, protected=json_encode({"alg": alg, "kid": key.get("kid")}))
    return str(token.serialize(compact=True))


def assertion_form(assertion: str) -> dict[str, str]:
    return {"client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion}
