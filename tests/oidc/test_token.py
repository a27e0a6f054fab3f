"""The token endpoint for the code grant (RFC 6749 4.1.3, 5.1, 5.2; RFC 7636; OIDC Core 3.1.3)."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import quote

import pytest

from .helpers import (
    RP,
    Env,
    exchange,
    introspect,
    jwt_parts,
    left_half_hash,
    login,
    pkce_pair,
    public_client,
    public_code,
    public_exchange,
    refresh,
    token_error,
    userinfo,
    verify_jwt,
)

OTHER_RP = "https://rp.test/other"


@pytest.fixture(autouse=True)
def _registered(env: Env) -> None:
    env.add_user()
    env.add_client(redirect_uris=(RP, OTHER_RP))


def test_token_response_is_bearer_with_expiry_id_token_and_no_store(env: Env) -> None:
    code = login(env)["code"]

    response = exchange(env, code)

    assert response.status_code == 200
    # each once, though authlib names them too
    assert response.headers.get_list("content-type") == ["application/json"]
    assert response.headers.get_list("cache-control") == ["no-store"]
    assert response.headers.get_list("pragma") == ["no-cache"]
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == env.settings.tokens.access_token_ttl
    assert body["id_token"].count(".") == 2
    assert body["access_token"]
    assert body["scope"] == "openid profile email"
    assert "refresh_token" not in body  # no offline_access asked for


def test_offline_access_gives_a_refresh_token(env: Env) -> None:
    code = login(env, scope="openid offline_access")["code"]

    body = exchange(env, code).json()

    assert body["refresh_token"]
    assert body["refresh_token"] != body["access_token"]


def test_second_exchange_of_a_code_is_invalid_grant_and_revokes_the_first(env: Env) -> None:
    code = login(env, scope="openid profile offline_access")["code"]
    first = exchange(env, code).json()
    assert userinfo(env, first["access_token"]).status_code == 200

    second = exchange(env, code)

    assert token_error(second) == "invalid_grant"
    assert userinfo(env, first["access_token"]).status_code == 401
    assert introspect(env, first["access_token"]).json() == {"active": False}
    assert token_error(refresh(env, first["refresh_token"])) == "invalid_grant"


def test_a_different_redirect_uri_is_invalid_grant(env: Env) -> None:
    code = login(env)["code"]

    response = exchange(env, code, redirect_uri=OTHER_RP)

    assert token_error(response) == "invalid_grant"


def test_a_missing_redirect_uri_is_invalid_grant(env: Env) -> None:
    code = login(env)["code"]

    response = env.client.post(
        "/token", data={"grant_type": "authorization_code", "code": code}, auth=("rp", "s3cret")
    )

    assert token_error(response) == "invalid_grant"


def test_a_code_redeemed_by_another_client_is_invalid_grant(env: Env) -> None:
    env.add_client("other", secret="0ther")
    code = login(env)["code"]

    stolen = exchange(env, code, client_id="other", secret="0ther")

    assert token_error(stolen) == "invalid_grant"
    # the rightful client can still redeem it
    assert exchange(env, code).status_code == 200


def test_an_unknown_code_is_invalid_grant(env: Env) -> None:
    assert token_error(exchange(env, "no-such-code")) == "invalid_grant"


def test_a_missing_code_is_invalid_request(env: Env) -> None:
    response = env.client.post(
        "/token",
        data={"grant_type": "authorization_code", "redirect_uri": RP},
        auth=("rp", "s3cret"),
    )

    assert token_error(response) == "invalid_request"


def test_an_unknown_grant_type_is_unsupported_grant_type(env: Env) -> None:
    response = env.client.post("/token", data={"grant_type": "password"}, auth=("rp", "s3cret"))

    assert token_error(response) == "unsupported_grant_type"


def test_a_grant_type_the_client_may_not_use_is_unauthorized_client(env: Env) -> None:
    response = env.client.post(
        "/token", data={"grant_type": "client_credentials"}, auth=("rp", "s3cret")
    )

    assert token_error(response) == "unauthorized_client"


def test_get_is_not_allowed(env: Env) -> None:
    assert env.client.get("/token").status_code == 405


# --- PKCE (RFC 7636 4.5, 4.6)
def test_valid_pkce_succeeds_for_a_confidential_client(env: Env) -> None:
    verifier, challenge = pkce_pair()
    code = login(env, code_challenge=challenge, code_challenge_method="S256")["code"]

    response = exchange(env, code, code_verifier=verifier)

    assert response.status_code == 200
    assert response.json()["id_token"]


def test_wrong_pkce_verifier_is_invalid_grant(env: Env) -> None:
    _, challenge = pkce_pair()
    other_verifier, _ = pkce_pair()
    code = login(env, code_challenge=challenge, code_challenge_method="S256")["code"]

    response = exchange(env, code, code_verifier=other_verifier)

    assert token_error(response) == "invalid_grant"


def test_missing_pkce_verifier_fails(env: Env) -> None:
    _, challenge = pkce_pair()
    code = login(env, code_challenge=challenge, code_challenge_method="S256")["code"]

    response = exchange(env, code)

    assert token_error(response) in ("invalid_request", "invalid_grant")


def test_a_verifier_without_a_challenge_fails(env: Env) -> None:
    verifier, _ = pkce_pair()
    code = login(env)["code"]

    response = exchange(env, code, code_verifier=verifier)

    assert token_error(response) in ("invalid_request", "invalid_grant")


def test_public_client_exchanges_with_pkce_and_no_secret(env: Env) -> None:
    public_client(env)
    code, verifier = public_code(env)

    response = public_exchange(env, code, verifier)

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert userinfo(env, response.json()["access_token"]).status_code == 200


def test_public_client_without_verifier_fails(env: Env) -> None:
    public_client(env)
    code, _ = public_code(env)

    assert token_error(public_exchange(env, code, None)) in ("invalid_request", "invalid_grant")


def test_public_client_with_a_wrong_verifier_fails(env: Env) -> None:
    public_client(env)
    code, _ = public_code(env)
    wrong, _ = pkce_pair()

    assert token_error(public_exchange(env, code, wrong)) == "invalid_grant"


def test_a_failed_exchange_leaves_the_code_to_its_client(env: Env) -> None:
    public_client(env)
    code, verifier = public_code(env)
    wrong, _ = pkce_pair()
    form = {"grant_type": "authorization_code", "code": code, "client_id": "spa"}
    elsewhere = env.client.post("/token", data={**form, "redirect_uri": RP + "/other"})

    assert token_error(public_exchange(env, code, wrong)) == "invalid_grant"
    assert token_error(elsewhere) == "invalid_grant"
    # neither used the code up: its client, with the verifier, still gets its tokens
    response = public_exchange(env, code, verifier)
    assert response.status_code == 200, response.text
    assert userinfo(env, response.json()["access_token"]).status_code == 200
    # once used, it is used
    assert token_error(public_exchange(env, code, verifier)) == "invalid_grant"


def test_a_code_reused_after_30_seconds_is_still_invalid_grant_and_revokes(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = login(env, scope="openid offline_access")["code"]
    first = exchange(env, code).json()
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 30)

    second = exchange(env, code)

    assert token_error(second) == "invalid_grant"
    assert userinfo(env, first["access_token"]).status_code == 401
    assert token_error(refresh(env, first["refresh_token"])) == "invalid_grant"


def test_an_expired_code_is_invalid_grant(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    code = login(env)["code"]
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + env.settings.tokens.code_ttl + 1)

    assert token_error(exchange(env, code)) == "invalid_grant"


def test_a_redirect_uri_with_a_query_keeps_it(env: Env) -> None:
    with_query = "https://rp.test/cb?tenant=7"
    env.add_client("tenant", secret="t3nant", redirect_uris=(with_query,))

    query = login(env, client_id="tenant", redirect_uri=with_query)

    assert query["tenant"] == "7"
    assert query["state"] == "st4te"
    response = exchange(
        env, query["code"], client_id="tenant", secret="t3nant", redirect_uri=with_query
    )
    assert response.status_code == 200, response.text


def test_jwt_access_tokens_are_signed_and_accepted(env: Env) -> None:
    env.add_client("jwt-rp", secret="jwt", access_token_format="jwt")
    code = login(env, client_id="jwt-rp")["code"]
    token = exchange(env, code, client_id="jwt-rp", secret="jwt").json()

    header, _ = jwt_parts(token["access_token"])
    claims = verify_jwt(env, token["access_token"])

    assert header["typ"] == "at+jwt"
    assert claims["iss"] == "https://idp.test"
    assert claims["client_id"] == "jwt-rp"
    assert claims["sub"] == env.store.find_user("alice").sub
    assert claims["exp"] - claims["iat"] == token["expires_in"]
    assert userinfo(env, token["access_token"]).status_code == 200
    assert introspect(env, token["access_token"]).json()["active"] is True
    # the ID token's at_hash is over the signed access token
    assert verify_jwt(env, token["id_token"])["at_hash"] == left_half_hash(token["access_token"])


def test_tokens_are_signed_off_the_event_loop(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    env.add_client("jwt-rp", secret="jwt", access_token_format="jwt")
    keys = env.provider.keys
    sign = keys.sign
    on_loop: list[bool] = []

    def recording_sign(*args: Any, **kwargs: Any) -> str:
        try:
            asyncio.get_running_loop()
            on_loop.append(True)
        except RuntimeError:
            on_loop.append(False)
        return sign(*args, **kwargs)

    monkeypatch.setattr(keys, "sign", recording_sign)
    code = login(env, client_id="jwt-rp")["code"]
    response = exchange(env, code, client_id="jwt-rp", secret="jwt")

    assert response.status_code == 200
    assert on_loop == [False, False]  # the access token and the ID token


def test_a_missing_grant_type_is_invalid_request(env: Env) -> None:
    response = env.client.post("/token", data={"code": "x"}, auth=("rp", "s3cret"))

    assert token_error(response) == "invalid_request"


@pytest.mark.parametrize("repeated", ["grant_type", "code", "redirect_uri"])
def test_repeated_parameters_are_invalid_request(env: Env, repeated: str) -> None:
    code = login(env)["code"]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": RP}
    body = "&".join(
        f"{k}={quote(v, safe='')}" for k, v in [*form.items(), (repeated, form[repeated])]
    )

    response = env.client.post(
        "/token",
        content=body,
        headers={"content-type": "application/x-www-form-urlencoded"},
        auth=("rp", "s3cret"),
    )

    assert token_error(response) == "invalid_request"
    assert repeated in response.json()["error_description"]
    assert exchange(env, code).status_code == 200  # the code was not used up


def test_a_repeated_parameter_with_an_odd_name_is_invalid_request(env: Env) -> None:
    # an error_description holds printable ASCII without '"' and '\\' (RFC 6749 5.2)
    odd = quote('n\u00e4me"\\', safe="")

    response = env.client.post(
        "/token",
        content=f"grant_type=client_credentials&{odd}=1&{odd}=2",
        headers={"content-type": "application/x-www-form-urlencoded"},
        auth=("rp", "s3cret"),
    )

    assert token_error(response) == "invalid_request"
