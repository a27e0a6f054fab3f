"""The refresh_token grant (RFC 6749 6, OIDC Core 12): rotation, reuse detection, binding."""

from __future__ import annotations

import json

import pytest

from .helpers import (
    ALL_SCOPES,
    Env,
    code_flow,
    introspect,
    jwt_parts,
    left_half_hash,
    public_client,
    public_code,
    public_exchange,
    refresh,
    token_error,
    userinfo,
    verify_jwt,
)


@pytest.fixture(autouse=True)
def _registered(env: Env) -> None:
    env.add_user()
    env.add_client()


def test_refresh_gives_new_tokens_with_no_store(env: Env) -> None:
    first = code_flow(env, scope=ALL_SCOPES)

    response = refresh(env, first["refresh_token"])

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    second = response.json()
    assert second["token_type"] == "Bearer"
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]
    assert set(second["scope"].split()) == set(ALL_SCOPES.split())
    assert userinfo(env, second["access_token"]).json()["preferred_username"] == "alice"


def test_refreshed_id_token_keeps_iss_sub_aud_and_auth_time(env: Env) -> None:
    first = code_flow(env, scope=ALL_SCOPES)

    second = refresh(env, first["refresh_token"]).json()

    before = verify_jwt(env, first["id_token"])
    after = verify_jwt(env, second["id_token"])
    for claim in ("iss", "sub", "aud", "auth_time", "azp", "sid", "acr"):
        assert after[claim] == before[claim], claim
    assert after["iat"] >= before["iat"]
    assert after["exp"] > after["iat"]


def test_refresh_token_is_rotated_and_chains(env: Env) -> None:
    token = code_flow(env, scope=ALL_SCOPES)["refresh_token"]

    for _ in range(3):
        response = refresh(env, token)
        assert response.status_code == 200, response.text
        token = response.json()["refresh_token"]


def test_reuse_of_a_refresh_token_revokes_its_whole_family(env: Env) -> None:
    first = code_flow(env, scope=ALL_SCOPES)
    second = refresh(env, first["refresh_token"]).json()

    reused = refresh(env, first["refresh_token"])

    assert token_error(reused) == "invalid_grant"
    assert token_error(refresh(env, second["refresh_token"])) == "invalid_grant"
    assert userinfo(env, second["access_token"]).status_code == 401
    assert userinfo(env, first["access_token"]).status_code == 401


def test_a_rotated_refresh_token_introspects_inactive(env: Env) -> None:
    first = code_flow(env, scope=ALL_SCOPES)
    refresh(env, first["refresh_token"])

    assert introspect(env, first["refresh_token"]).json() == {"active": False}


def test_reuse_does_not_touch_other_grants(env: Env) -> None:
    one = code_flow(env, scope=ALL_SCOPES)
    two = code_flow(env, scope=ALL_SCOPES)
    refresh(env, one["refresh_token"])

    refresh(env, one["refresh_token"])  # reuse: family one is revoked

    assert userinfo(env, two["access_token"]).status_code == 200
    assert refresh(env, two["refresh_token"]).status_code == 200


def test_refresh_token_is_bound_to_its_client(env: Env) -> None:
    env.add_client("other", secret="0ther")
    token = code_flow(env, scope=ALL_SCOPES)["refresh_token"]

    stolen = refresh(env, token, client_id="other", secret="0ther")

    assert token_error(stolen) == "invalid_grant"
    assert refresh(env, token).status_code == 200


def test_refresh_needs_client_authentication(env: Env) -> None:
    token = code_flow(env, scope=ALL_SCOPES)["refresh_token"]

    response = refresh(env, token, secret="wrong")

    assert token_error(response, status=401) == "invalid_client"
    assert refresh(env, token).status_code == 200


def test_refresh_may_narrow_the_scope_but_not_widen_it(env: Env) -> None:
    first = code_flow(env, scope="openid profile offline_access")

    wider = refresh(env, first["refresh_token"], scope="openid profile email offline_access")
    narrower = refresh(env, first["refresh_token"], scope="openid offline_access")

    assert token_error(wider) == "invalid_scope"
    assert narrower.status_code == 200
    claims = userinfo(env, narrower.json()["access_token"]).json()
    assert "name" not in claims


def test_refreshed_id_token_is_signed_like_the_first(env: Env) -> None:
    first = code_flow(env, scope=ALL_SCOPES)

    second = refresh(env, first["refresh_token"]).json()

    assert jwt_parts(second["id_token"])[0]["alg"] == "RS256"
    claims = verify_jwt(env, second["id_token"])
    assert claims["at_hash"] == left_half_hash(second["access_token"])


def test_an_unknown_refresh_token_is_invalid_grant(env: Env) -> None:
    assert token_error(refresh(env, "made-up")) == "invalid_grant"


def test_no_refresh_token_without_offline_access(env: Env) -> None:
    assert "refresh_token" not in code_flow(env, scope="openid profile")


def test_userinfo_claims_asked_for_survive_a_refresh(env: Env) -> None:
    claims = json.dumps({"userinfo": {"email": None}})
    first = code_flow(env, scope="openid offline_access", claims=claims)

    second = refresh(env, first["refresh_token"]).json()

    assert userinfo(env, second["access_token"]).json()["email"] == "alice@example.org"


def test_a_public_client_refreshes_with_its_client_id(env: Env) -> None:
    public_client(env)
    code, verifier = public_code(env, scope=ALL_SCOPES)
    first = public_exchange(env, code, verifier).json()

    data = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    second = env.client.post("/token", data={**data, "client_id": "spa"})
    reused = env.client.post("/token", data={**data, "client_id": "spa"})

    assert second.status_code == 200, second.text
    assert token_error(reused) == "invalid_grant"
    assert userinfo(env, second.json()["access_token"]).status_code == 401


def test_a_refresh_that_fails_midway_leaves_the_old_token_usable(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = code_flow(env, scope=ALL_SCOPES)
    store = env.provider.store
    upsert = store.upsert

    async def failing_upsert(model: str, *args: object, **kwargs: object) -> None:
        if model == "refresh_token":
            raise OSError("disk full")
        await upsert(model, *args, **kwargs)

    monkeypatch.setattr(store, "upsert", failing_upsert)
    failed = refresh(env, first["refresh_token"])
    monkeypatch.undo()

    assert failed.status_code == 500
    assert failed.json()["error"] == "server_error"
    assert failed.headers["cache-control"] == "no-store"

    # the old token was not used up, so no reuse is detected and its grant lives on
    response = refresh(env, first["refresh_token"])
    assert response.status_code == 200, response.text
    assert userinfo(env, first["access_token"]).status_code == 200
