"""Token revocation (RFC 7009) and introspection (RFC 7662) for confidential clients."""

from __future__ import annotations

import json
import time

import pytest
from jwcrypto import jwk, jws

from .helpers import (
    ALL_SCOPES,
    ISSUER,
    Env,
    b64json,
    code_flow,
    introspect,
    jwt_parts,
    public_client,
    refresh,
    revoke,
    token_error,
    userinfo,
)


@pytest.fixture(autouse=True)
def _registered(env: Env) -> None:
    env.add_user()
    env.add_client()
    env.add_client("other", secret="0ther")


def test_an_active_access_token_introspects_with_its_metadata(env: Env) -> None:
    token = code_flow(env, scope=ALL_SCOPES)
    now = int(time.time())

    response = introspect(env, token["access_token"])

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    info = response.json()
    assert info["active"] is True
    assert info["client_id"] == "rp"
    assert info["sub"] == env.store.find_user("alice").sub
    assert info["username"] == "alice"
    assert set(info["scope"].split()) == set(ALL_SCOPES.split())
    assert info["token_type"] == "Bearer"
    assert info["iss"] == ISSUER
    assert now - 5 <= info["iat"] <= now + 1
    assert info["exp"] == info["iat"] + env.settings.tokens.access_token_ttl


def test_a_refresh_token_introspects_active(env: Env) -> None:
    token = code_flow(env, scope=ALL_SCOPES)

    info = introspect(env, token["refresh_token"], token_type_hint="refresh_token").json()

    assert info["active"] is True
    assert info["exp"] == info["iat"] + env.settings.tokens.refresh_token_ttl


def test_an_unknown_token_introspects_inactive(env: Env) -> None:
    assert introspect(env, "no-such-token").json() == {"active": False}


def test_another_confidential_client_may_introspect(env: Env) -> None:
    token = code_flow(env)

    info = introspect(env, token["access_token"], client_id="other", secret="0ther").json()

    assert info["active"] is True
    assert info["client_id"] == "rp"


def test_revoking_an_access_token(env: Env) -> None:
    token = code_flow(env, scope=ALL_SCOPES)

    response = revoke(env, token["access_token"], token_type_hint="access_token")

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert introspect(env, token["access_token"]).json() == {"active": False}
    assert userinfo(env, token["access_token"]).status_code == 401
    # the refresh token of the grant is untouched
    assert refresh(env, token["refresh_token"]).status_code == 200


def test_revoking_a_refresh_token_revokes_the_whole_grant(env: Env) -> None:
    token = code_flow(env, scope=ALL_SCOPES)

    response = revoke(env, token["refresh_token"], token_type_hint="refresh_token")

    assert response.status_code == 200
    assert introspect(env, token["refresh_token"]).json() == {"active": False}
    assert introspect(env, token["access_token"]).json() == {"active": False}
    assert token_error(refresh(env, token["refresh_token"])) == "invalid_grant"
    assert userinfo(env, token["access_token"]).status_code == 401


def test_a_wrong_hint_still_finds_the_token(env: Env) -> None:
    token = code_flow(env, scope=ALL_SCOPES)

    revoke(env, token["refresh_token"], token_type_hint="access_token")

    assert introspect(env, token["refresh_token"]).json() == {"active": False}


def test_revoking_an_unknown_token_is_200(env: Env) -> None:
    response = revoke(env, "no-such-token")

    assert response.status_code == 200


def test_an_unknown_hint_is_ignored(env: Env) -> None:
    # RFC 7009 2.1 and RFC 7662 2.1: the hint may be ignored; the search covers every type
    token = code_flow(env)

    info = introspect(env, token["access_token"], token_type_hint="something_else").json()
    response = revoke(env, token["access_token"], token_type_hint="something_else")

    assert info["active"] is True
    assert response.status_code == 200
    assert introspect(env, token["access_token"]).json() == {"active": False}


def test_a_client_cannot_revoke_another_clients_token(env: Env) -> None:
    token = code_flow(env)

    response = revoke(env, token["access_token"], client_id="other", secret="0ther")

    assert response.status_code == 400
    assert introspect(env, token["access_token"]).json()["active"] is True


@pytest.mark.parametrize("endpoint", ["/revoke", "/introspect"])
def test_client_authentication_is_required(env: Env, endpoint: str) -> None:
    token = code_flow(env)

    anonymous = env.client.post(endpoint, data={"token": token["access_token"]})
    wrong = env.client.post(endpoint, data={"token": token["access_token"]}, auth=("rp", "wrong"))

    assert token_error(anonymous, status=401) == "invalid_client"
    assert token_error(wrong, status=401) == "invalid_client"
    assert introspect(env, token["access_token"]).json()["active"] is True


@pytest.mark.parametrize("endpoint", ["/revoke", "/introspect"])
def test_public_clients_may_not_use_the_endpoint(env: Env, endpoint: str) -> None:
    public_client(env)
    token = code_flow(env)

    response = env.client.post(endpoint, data={"token": token["access_token"], "client_id": "spa"})

    assert token_error(response, status=401) == "invalid_client"
    assert introspect(env, token["access_token"]).json()["active"] is True


@pytest.mark.parametrize("endpoint", ["/revoke", "/introspect"])
def test_a_missing_token_is_invalid_request(env: Env, endpoint: str) -> None:
    response = env.client.post(endpoint, data={}, auth=("rp", "s3cret"))

    assert token_error(response) == "invalid_request"


def test_client_secret_post_works_at_introspection(env: Env) -> None:
    token = code_flow(env)

    response = env.client.post(
        "/introspect",
        data={"token": token["access_token"], "client_id": "rp", "client_secret": "s3cret"},
    )

    assert response.json()["active"] is True


def _forged(token: str, **changes: object) -> str:
    """The token with its claims changed and its signature kept."""
    header, claims = jwt_parts(token)
    signature = token.rsplit(".", 1)[1]
    return f"{b64json(header)}.{b64json({**claims, **changes})}.{signature}"


def _signed_elsewhere(token: str) -> str:
    """The same header and claims, signed by a key that is not ours under our kid."""
    header, claims = jwt_parts(token)
    stranger = jwk.JWK.generate(kty="RSA", size=2048)
    signed = jws.JWS(json.dumps(claims))
    signed.add_signature(stranger, alg="RS256", protected=json.dumps(header))
    return str(signed.serialize(compact=True))


def test_a_jwt_access_token_counts_only_with_its_own_signature(env: Env) -> None:
    env.add_client("jwt-rp", secret="jwt", access_token_format="jwt")
    token = code_flow(env, client_id="jwt-rp", secret="jwt", scope=ALL_SCOPES)
    access_token = token["access_token"]
    not_ours = [
        _forged(access_token, scope="openid admin"),
        _signed_elsewhere(access_token),
        access_token.rsplit(".", 1)[0] + ".",  # no signature at all
        token["id_token"],  # signed by us, but not an access token
        "a.b.c",
    ]

    for value in not_ours:
        assert introspect(env, value).json() == {"active": False}, value
        assert userinfo(env, value).status_code == 401, value
        # revoking what is not a token of ours revokes nothing (RFC 7009 2.2)
        response = revoke(env, value, client_id="jwt-rp", secret="jwt")
        assert response.status_code == 200, value

    assert introspect(env, access_token).json()["active"] is True
    assert userinfo(env, access_token).status_code == 200
