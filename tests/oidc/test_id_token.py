"""The ID token (OIDC Core 2, 3.1.3.6, 3.1.3.7, 5.5): claims, signature, at_hash."""

from __future__ import annotations

import json
import time

import pytest
from jwcrypto import jws

from .helpers import (
    ISSUER,
    Env,
    authorize_error,
    b64json,
    bare_authorize,
    code_flow,
    exchange,
    fetch_jwks,
    jwt_parts,
    left_half_hash,
    redirect_query,
    submit_password,
    verify_jwt,
)


@pytest.fixture(autouse=True)
def _registered(env: Env) -> None:
    env.add_user(email="alice@example.org", name="Alice Example")
    env.add_client()


def test_rs256_by_default_with_a_kid_and_verifies_against_the_jwks(env: Env) -> None:
    token = code_flow(env)["id_token"]

    header, _ = jwt_parts(token)
    assert header["alg"] == "RS256"
    assert header["typ"] == "JWT"
    key = fetch_jwks(env).get_key(header["kid"])
    assert key is not None and key.get("kty") == "RSA"
    obj = jws.JWS()
    obj.deserialize(token)
    obj.verify(key, alg="RS256")  # raises if the signature is bad
    assert json.loads(obj.payload)["iss"] == ISSUER


def test_a_tampered_id_token_does_not_verify(env: Env) -> None:
    token = code_flow(env)["id_token"]
    header, _, signature = token.split(".")
    claims = {**jwt_parts(token)[1], "sub": "mallory"}
    tampered = f"{header}.{b64json(claims)}.{signature}"

    with pytest.raises(jws.InvalidJWSSignature):
        verify_jwt(env, tampered)


def test_the_required_claims(env: Env) -> None:
    before = int(time.time())
    token = code_flow(env, nonce="n-0S6_WzA2Mj")

    claims = verify_jwt(env, token["id_token"])

    assert claims["iss"] == ISSUER
    assert claims["sub"] == env.store.find_user("alice").sub
    assert claims["aud"] == "rp"
    assert claims["azp"] == "rp"
    assert before - 1 <= claims["iat"] <= int(time.time()) + 1
    assert claims["exp"] == claims["iat"] + env.settings.tokens.id_token_ttl
    assert before - 1 <= claims["auth_time"] <= claims["iat"]
    assert claims["nonce"] == "n-0S6_WzA2Mj"
    assert claims["at_hash"] == left_half_hash(token["access_token"])
    assert isinstance(claims["sid"], str) and claims["sid"]
    assert isinstance(claims["acr"], str) and claims["acr"]
    assert claims["amr"] == ["pwd"]


def test_nonce_is_absent_when_not_sent(env: Env) -> None:
    response = bare_authorize(env, scope="openid", state="no-nonce")
    query = redirect_query(submit_password(env, response.headers["location"]))

    claims = verify_jwt(env, exchange(env, query["code"]).json()["id_token"])

    assert "nonce" not in claims
    assert claims["sub"] == env.store.find_user("alice").sub


def test_sid_is_the_same_for_every_token_of_one_session(env: Env) -> None:
    first = verify_jwt(env, code_flow(env)["id_token"])
    second = verify_jwt(env, code_flow(env)["id_token"])

    assert first["sid"] == second["sid"]


def test_profile_claims_go_to_userinfo_not_the_id_token(env: Env) -> None:
    claims = verify_jwt(env, code_flow(env, scope="openid profile email")["id_token"])

    assert not {"name", "email", "preferred_username"} & set(claims)


def test_the_claims_parameter_puts_a_claim_in_the_id_token(env: Env) -> None:
    request = {"id_token": {"email": {"essential": True}, "name": None}}

    claims = verify_jwt(env, code_flow(env, scope="openid", claims=json.dumps(request))["id_token"])

    assert claims["email"] == "alice@example.org"
    assert claims["name"] == "Alice Example"
    assert "preferred_username" not in claims


def test_the_claims_parameter_cannot_override_protocol_claims(env: Env) -> None:
    request = {"id_token": {"sub": {"value": "someone-else"}, "email": None}}

    claims = verify_jwt(env, code_flow(env, scope="openid", claims=json.dumps(request))["id_token"])

    assert claims["sub"] == env.store.find_user("alice").sub
    assert claims["email"] == "alice@example.org"


def test_a_claim_value_past_64_bits_does_not_stop_the_login(env: Env) -> None:
    # the pending login and the code keep the claims request: a whole number the store
    # cannot write must not make the login fail
    request = '{"id_token": {"email": {"value": 99999999999999999999}}}'

    claims = verify_jwt(env, code_flow(env, scope="openid", claims=request)["id_token"])

    assert claims["email"] == "alice@example.org"


def test_an_es256_client_gets_an_es256_id_token(env: Env) -> None:
    env.add_client("ec", secret="ec-secret", id_token_signed_response_alg="ES256")
    token = code_flow(env, client_id="ec", secret="ec-secret")

    header, _ = jwt_parts(token["id_token"])
    claims = verify_jwt(env, token["id_token"])

    assert header["alg"] == "ES256"
    assert fetch_jwks(env).get_key(header["kid"]).get("crv") == "P-256"
    assert claims["aud"] == "ec"
    assert claims["at_hash"] == left_half_hash(token["access_token"])


def test_an_unsigned_id_token_is_refused_as_hint(env: Env) -> None:
    header, claims = jwt_parts(code_flow(env)["id_token"])
    assert header["alg"] == "RS256"
    unsigned = f"{b64json({'alg': 'none'})}.{b64json(claims)}."

    query = authorize_error(env, prompt="none", id_token_hint=unsigned)

    assert query["error"] == "invalid_request"
