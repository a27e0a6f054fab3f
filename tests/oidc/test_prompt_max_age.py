"""prompt, max_age, id_token_hint and acr_values (OIDC Core 3.1.2.1, 3.1.2.3)."""

from __future__ import annotations

import json
import time

import pytest

from idp.login.acr import ACR_MFA, ACR_PASSWORD

from .helpers import (
    ISSUER,
    Env,
    authorize,
    authorize_error,
    code_flow,
    exchange,
    login_location,
    redirect_query,
    submit_password,
    verify_jwt,
)


@pytest.fixture(autouse=True)
def _registered(env: Env) -> None:
    env.add_user()
    env.add_client()


def silent_id_token(env: Env, **params: str) -> dict:
    """An authorization that must succeed without a login page; the ID token's claims."""
    query = redirect_query(authorize(env, **params))
    assert "code" in query, query
    response = exchange(env, query["code"])
    assert response.status_code == 200, response.text
    return verify_jwt(env, response.json()["id_token"])


def relogin_id_token(env: Env, **params: str) -> dict:
    """An authorization that must show the login page again; the ID token after it."""
    query = redirect_query(submit_password(env, login_location(env, **params)))
    return verify_jwt(env, exchange(env, query["code"]).json()["id_token"])


def first_login(env: Env) -> dict:
    return verify_jwt(env, code_flow(env)["id_token"])


# --- prompt=none
def test_prompt_none_when_not_logged_in_is_login_required(env: Env) -> None:
    query = authorize_error(env, prompt="none", state="silent")

    assert query["error"] == "login_required"
    assert query["state"] == "silent"
    assert query["iss"] == ISSUER


def test_prompt_none_when_logged_in_succeeds_with_the_same_sub(env: Env) -> None:
    first = first_login(env)

    second = silent_id_token(env, prompt="none")

    assert second["sub"] == first["sub"]
    assert second["auth_time"] == first["auth_time"]
    assert second["sid"] == first["sid"]


def test_without_prompt_a_logged_in_user_is_not_asked_again(env: Env) -> None:
    first = first_login(env)

    assert silent_id_token(env)["sub"] == first["sub"]


# --- prompt=login
def test_prompt_login_shows_the_login_page_again_and_auth_time_advances(env: Env) -> None:
    first = first_login(env)
    time.sleep(1.1)

    second = relogin_id_token(env, prompt="login")

    assert second["sub"] == first["sub"]
    assert second["auth_time"] > first["auth_time"]
    assert second["auth_time"] <= second["iat"]


def test_prompt_login_then_no_prompt_keeps_the_new_auth_time(env: Env) -> None:
    first_login(env)
    time.sleep(1.1)
    relogged = relogin_id_token(env, prompt="login")

    assert silent_id_token(env)["auth_time"] == relogged["auth_time"]


# --- max_age
def test_max_age_1_forces_a_new_login_after_a_second(env: Env) -> None:
    first = first_login(env)
    time.sleep(1.1)

    second = relogin_id_token(env, max_age="1")

    assert second["auth_time"] > first["auth_time"]


def test_max_age_10000_does_not_force_a_new_login(env: Env) -> None:
    first = first_login(env)

    second = silent_id_token(env, max_age="10000")

    assert second["auth_time"] == first["auth_time"]


def test_max_age_with_prompt_none_on_an_old_session_is_login_required(env: Env) -> None:
    first_login(env)
    time.sleep(1.1)

    query = authorize_error(env, max_age="1", prompt="none")

    assert query["error"] == "login_required"


def test_auth_time_is_in_the_id_token_with_max_age(env: Env) -> None:
    claims = verify_jwt(env, code_flow(env, max_age="600")["id_token"])

    assert abs(claims["auth_time"] - time.time()) < 5


# --- id_token_hint
def test_prompt_none_with_id_token_hint_succeeds(env: Env) -> None:
    token = code_flow(env)
    first = verify_jwt(env, token["id_token"])

    second = silent_id_token(env, prompt="none", id_token_hint=token["id_token"])

    assert second["sub"] == first["sub"]


def test_id_token_hint_for_another_user_with_prompt_none_is_login_required(env: Env) -> None:
    env.add_user("bob")
    bobs_token = code_flow(env, username="bob")["id_token"]
    env.client.cookies.clear()
    code_flow(env)  # alice is logged in now

    query = authorize_error(env, prompt="none", id_token_hint=bobs_token)

    assert query["error"] == "login_required"


def test_an_id_token_hint_of_another_client_is_invalid_request(env: Env) -> None:
    env.add_client("other", secret="0ther")
    others = code_flow(env, client_id="other", secret="0ther")["id_token"]

    query = authorize_error(env, prompt="none", id_token_hint=others)

    assert query["error"] == "invalid_request"


def test_an_expired_id_token_hint_is_accepted(env: Env) -> None:
    claims = verify_jwt(env, code_flow(env)["id_token"])
    expired = env.provider.keys.sign({**claims, "iat": 1, "exp": 2})

    assert silent_id_token(env, prompt="none", id_token_hint=expired)["sub"] == claims["sub"]


def test_a_jwt_access_token_is_no_id_token_hint(env: Env) -> None:
    env.add_client("api", secret="4pi", access_token_format="jwt")
    access_token = code_flow(env, client_id="api", secret="4pi")["access_token"]

    query = authorize_error(env, client_id="api", prompt="none", id_token_hint=access_token)

    assert query["error"] == "invalid_request"


# --- acr_values
def test_a_requested_acr_value_that_is_met_is_echoed(env: Env) -> None:
    claims = verify_jwt(
        env, code_flow(env, acr_values=f"urn:example:other {ACR_PASSWORD}")["id_token"]
    )

    assert claims["acr"] == ACR_PASSWORD
    assert claims["amr"] == ["pwd"]


def test_an_unknown_acr_value_still_succeeds_with_the_achieved_acr(env: Env) -> None:
    claims = verify_jwt(env, code_flow(env, acr_values="urn:example:gold")["id_token"])

    assert claims["acr"] in (ACR_PASSWORD, ACR_MFA)


def test_acr_as_an_essential_claim_is_echoed(env: Env) -> None:
    request = {"id_token": {"acr": {"essential": True, "values": [ACR_PASSWORD]}}}

    claims = verify_jwt(env, code_flow(env, claims=json.dumps(request))["id_token"])

    assert claims["acr"] == ACR_PASSWORD


def test_max_age_0_always_shows_the_login_page(env: Env) -> None:
    first_login(env)

    assert login_location(env, max_age="0")


def test_a_max_age_past_64_bits_is_no_limit(env: Env) -> None:
    # the login page keeps it with the pending login, in a whole number of 64 bits
    huge = "99999999999999999999"
    claims = verify_jwt(env, code_flow(env, max_age=huge)["id_token"])

    assert abs(claims["auth_time"] - time.time()) < 5
    assert silent_id_token(env, max_age=huge)["auth_time"] == claims["auth_time"]
