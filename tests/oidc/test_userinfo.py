"""The UserInfo endpoint (OIDC Core 5.3, 5.4) with Bearer tokens (RFC 6750 2.1, 2.2, 3)."""

from __future__ import annotations

import json

import pytest

from idp.oidc.models import token_id

from .helpers import Env, code_flow, jwt_parts, userinfo

ADDRESS = {"street_address": "Damrak 1", "locality": "Amsterdam", "country": "NL"}


@pytest.fixture(autouse=True)
def _registered(env: Env) -> None:
    env.add_user(
        name="Alice Example",
        given_name="Alice",
        family_name="Example",
        locale="nl",
        phone_number="+31 20 555 0100",
        phone_number_verified=True,
        address=ADDRESS,
    )
    env.add_client(scopes=("openid", "profile", "email", "address", "phone", "offline_access"))


def access_token(env: Env, scope: str = "openid profile email", **params: str) -> str:
    return str(code_flow(env, scope=scope, **params)["access_token"])


def test_get_with_the_header_returns_the_id_tokens_sub(env: Env) -> None:
    token = code_flow(env)
    sub = jwt_parts(token["id_token"])[1]["sub"]

    response = userinfo(env, token["access_token"])

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["cache-control"] == "no-store"
    assert response.json()["sub"] == sub
    assert sub == env.store.find_user("alice").sub


def test_post_with_the_header(env: Env) -> None:
    token = access_token(env)

    response = env.client.post("/userinfo", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200
    assert response.json()["email"] == "alice@example.org"


def test_post_with_the_token_in_the_body(env: Env) -> None:
    token = access_token(env)

    response = env.client.post("/userinfo", data={"access_token": token})

    assert response.status_code == 200
    assert response.json()["preferred_username"] == "alice"


def test_the_scheme_name_is_case_insensitive(env: Env) -> None:
    token = access_token(env)

    response = env.client.get("/userinfo", headers={"Authorization": f"bearer {token}"})

    assert response.status_code == 200


def test_a_bad_token_is_401_with_www_authenticate(env: Env) -> None:
    response = userinfo(env, "not-a-token")

    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer ")
    assert 'error="invalid_token"' in challenge
    assert response.json()["error"] == "invalid_token"


def test_no_token_is_401_with_a_bare_challenge(env: Env) -> None:
    response = env.client.get("/userinfo")

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "error=" not in response.headers["www-authenticate"]


def test_a_token_sent_two_ways_is_invalid_request(env: Env) -> None:
    token = access_token(env)

    response = env.client.post(
        "/userinfo", data={"access_token": token}, headers={"Authorization": f"Bearer {token}"}
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_a_token_without_openid_is_insufficient_scope(env: Env) -> None:
    token = access_token(env, scope="profile")

    response = userinfo(env, token)

    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]


def test_scope_openid_alone_gives_only_sub(env: Env) -> None:
    claims = userinfo(env, access_token(env, scope="openid")).json()

    assert set(claims) == {"sub"}


def test_scope_profile(env: Env) -> None:
    claims = userinfo(env, access_token(env, scope="openid profile")).json()

    assert claims["name"] == "Alice Example"
    assert claims["given_name"] == "Alice"
    assert claims["family_name"] == "Example"
    assert claims["preferred_username"] == "alice"
    assert claims["locale"] == "nl"
    assert isinstance(claims["updated_at"], int)
    assert not {"email", "address", "phone_number"} & set(claims)


def test_scope_email(env: Env) -> None:
    claims = userinfo(env, access_token(env, scope="openid email")).json()

    assert claims == {
        "sub": claims["sub"],
        "email": "alice@example.org",
        "email_verified": True,
    }


def test_scope_address(env: Env) -> None:
    claims = userinfo(env, access_token(env, scope="openid address")).json()

    assert claims["address"] == ADDRESS
    assert "name" not in claims


def test_scope_phone(env: Env) -> None:
    claims = userinfo(env, access_token(env, scope="openid phone")).json()

    assert claims["phone_number"] == "+31 20 555 0100"
    assert claims["phone_number_verified"] is True
    assert "email" not in claims


def test_all_scopes(env: Env) -> None:
    scope = "openid profile email address phone"

    claims = userinfo(env, access_token(env, scope=scope)).json()

    expected = {"sub", "name", "preferred_username", "email", "email_verified", "address"}
    assert expected | {"phone_number", "locale"} <= set(claims)


def test_email_verified_false_is_returned_as_false(env: Env) -> None:
    env.add_user("bob", email="bob@example.org", email_verified=False)
    token = code_flow(env, scope="openid email", username="bob")["access_token"]

    claims = userinfo(env, token).json()

    assert claims["email"] == "bob@example.org"
    assert claims["email_verified"] is False


def test_the_claims_parameter_adds_a_userinfo_claim(env: Env) -> None:
    claims_request = json.dumps({"userinfo": {"email": {"essential": True}, "name": None}})

    claims = userinfo(env, access_token(env, scope="openid", claims=claims_request)).json()

    assert claims["email"] == "alice@example.org"
    assert claims["name"] == "Alice Example"
    assert "preferred_username" not in claims


def test_an_expired_token_is_refused(env: Env) -> None:
    token = access_token(env)
    record_id = token_id(token)
    data = env.store.find("access_token", record_id)
    env.store.upsert("access_token", record_id, {**data, "expires_at": 0}, expires_in=60)

    assert userinfo(env, token).status_code == 401
