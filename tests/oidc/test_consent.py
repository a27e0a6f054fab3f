"""Consent: first-party clients skip it; others ask once per user and client."""

from __future__ import annotations

import pytest

from .helpers import (
    ISSUER,
    RP,
    Env,
    authorize,
    authorize_error,
    exchange,
    hidden_inputs,
    login_location,
    query_of,
    redirect_query,
    submit_password,
)


@pytest.fixture(autouse=True)
def _registered(env: Env) -> None:
    env.add_user()
    env.add_user("bob")
    env.add_client("third", secret="th1rd", first_party=False, name="Third Party App")
    env.add_client("fourth", secret="f0urth", first_party=False, name="Fourth App")
    env.add_client()  # first party


def to_consent(env: Env, client_id: str = "third", username: str = "alice", **params: str) -> str:
    """Log in through a third-party client; the consent page's location."""
    response = submit_password(env, login_location(env, client_id=client_id, **params), username)
    location: str = response.headers["location"]
    assert location.startswith("/consent/"), location
    return location


def answer(env: Env, location: str, action: str) -> dict[str, str]:
    page = env.client.get(location)
    response = env.client.post(location, data={**hidden_inputs(page.text), "action": action})
    return redirect_query(response)


def test_the_consent_page_lists_the_scopes_asked_for(env: Env) -> None:
    page = env.client.get(to_consent(env, scope="openid email"))

    assert page.status_code == 200
    assert "Third Party App" in page.text
    assert "Your identity (who you are)" in page.text
    assert "Your email address" in page.text
    assert "Your name, username and language" not in page.text
    assert 'value="allow"' in page.text and 'value="deny"' in page.text


def test_the_consent_page_lists_offline_access(env: Env) -> None:
    page = env.client.get(to_consent(env, scope="openid profile offline_access"))

    assert "Your name, username and language" in page.text
    assert "Staying connected while you are away" in page.text


def test_allowing_issues_a_code(env: Env) -> None:
    query = answer(env, to_consent(env), "allow")

    assert query["state"] == "st4te"
    assert query["iss"] == ISSUER
    assert exchange(env, query["code"], client_id="third", secret="th1rd").status_code == 200


def test_denying_is_access_denied(env: Env) -> None:
    query = answer(env, to_consent(env), "deny")

    assert query["error"] == "access_denied"
    assert query["state"] == "st4te"
    assert query["iss"] == ISSUER
    assert "code" not in query


def test_the_answer_is_remembered(env: Env) -> None:
    answer(env, to_consent(env), "allow")

    again = authorize(env, client_id="third")

    assert again.headers["location"].startswith(RP)
    assert "code" in query_of(again.headers["location"])


def test_a_wider_scope_asks_again(env: Env) -> None:
    answer(env, to_consent(env, scope="openid"), "allow")

    wider = authorize(env, client_id="third", scope="openid email")

    assert wider.headers["location"].startswith("/consent/")


def test_a_narrower_scope_does_not_ask_again(env: Env) -> None:
    answer(env, to_consent(env, scope="openid profile email"), "allow")

    narrower = authorize(env, client_id="third", scope="openid email")

    assert "code" in redirect_query(narrower)


def test_consent_is_per_client(env: Env) -> None:
    answer(env, to_consent(env), "allow")

    other = authorize(env, client_id="fourth")

    assert other.headers["location"].startswith("/consent/")


def test_consent_is_per_user(env: Env) -> None:
    answer(env, to_consent(env), "allow")
    env.client.cookies.clear()

    assert to_consent(env, username="bob")


def test_a_denial_is_not_remembered_as_consent(env: Env) -> None:
    answer(env, to_consent(env), "deny")

    assert to_consent(env)


def test_prompt_consent_asks_again(env: Env) -> None:
    answer(env, to_consent(env), "allow")

    again = authorize(env, client_id="third", prompt="consent")

    assert again.headers["location"].startswith("/consent/")


def test_prompt_none_without_consent_is_consent_required(env: Env) -> None:
    submit_password(env, login_location(env))  # logged in through the first-party client

    query = authorize_error(env, client_id="third", prompt="none")

    assert query["error"] == "consent_required"
    assert query["state"] == "st4te"
    assert query["iss"] == ISSUER


def test_prompt_none_with_consent_given_succeeds(env: Env) -> None:
    answer(env, to_consent(env), "allow")

    query = redirect_query(authorize(env, client_id="third", prompt="none"))

    assert "code" in query


def test_first_party_clients_skip_consent(env: Env) -> None:
    response = submit_password(env, login_location(env, scope="openid profile email"))

    assert "code" in redirect_query(response)


def test_the_consent_form_needs_its_csrf_token(env: Env) -> None:
    location = to_consent(env)

    response = env.client.post(location, data={"csrf": "forged", "action": "allow"})

    assert response.status_code == 403
    assert "location" not in response.headers


def test_a_consent_csrf_token_with_non_ascii_text_is_refused(env: Env) -> None:
    location = to_consent(env)

    response = env.client.post(location, data={"csrf": "f\u00f6rged", "action": "allow"})

    assert response.status_code == 403


def test_the_consent_page_is_bound_to_the_browser(env: Env) -> None:
    location = to_consent(env)
    env.client.cookies.clear()

    assert env.client.get(location).status_code == 400


def test_consents_for_different_scopes_add_up(env: Env) -> None:
    answer(env, to_consent(env, scope="openid email"), "allow")
    wider = authorize(env, client_id="third", scope="openid profile")
    answer(env, wider.headers["location"], "allow")

    again = authorize(env, client_id="third", scope="openid email")

    assert "code" in redirect_query(again)
