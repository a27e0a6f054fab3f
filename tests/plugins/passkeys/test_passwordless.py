"""A passkey alone, from the login page, over HTTP: its options, its answer, and the
refusals (no user verification, a passkey of nobody, a replay, bad input)."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.conftest import RP, Env, authorize, hidden_inputs, query_of
from tests.plugins.passkeys.authenticator import SoftAuthenticator
from tests.plugins.passkeys.conftest import enroll, new_authenticator
from tests.plugins.pocket_mfa.conftest import id_token_claims


def login_page(env: Env) -> tuple[str, dict[str, str]]:
    """A fresh login's page: its passkey URL, and its form's hidden fields."""
    env.client.cookies.clear()
    response = authorize(env)
    page = env.client.get(response.headers["location"])
    found = re.search(r'data-passwordless-url="([^"]+)"', page.text)
    assert found, page.text
    assert 'autocomplete="username webauthn"' in page.text
    return found.group(1), hidden_inputs(page.text)


def offered(env: Env, url: str, fields: dict[str, str]) -> dict[str, Any]:
    response = env.client.post(f"{url}/options", data={"csrf": fields["csrf"]})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["options"]["userVerification"] == "required"
    assert body["options"]["rpId"] == "idp.test"
    assert body["options"].get("allowCredentials", []) == []
    return body


def log_in(env: Env, authenticator: SoftAuthenticator) -> Any:
    url, fields = login_page(env)
    body = offered(env, url, fields)
    credential = json.dumps(authenticator.get(body["options"]))
    data = {"csrf": fields["csrf"], "challenge_id": body["challenge_id"], "credential": credential}
    return env.client.post(url, data=data), url, data


def test_a_passkey_that_verified_its_user_logs_in_alone(passkeys: Env) -> None:
    authenticator = new_authenticator()
    assert enroll(passkeys, authenticator).status_code == 303
    response, _, _ = log_in(passkeys, authenticator)
    assert response.status_code == 303, response.text
    assert response.headers["location"].startswith(RP)
    claims = id_token_claims(passkeys, query_of(response.headers["location"])["code"])
    assert claims["amr"] == ["swk", "user", "mfa"]
    assert claims["acr"] == "urn:pocket-idp:acr:mfa"
    [used] = [
        e
        for e in passkeys.run(passkeys.provider.audit.events)
        if e["event"] == "factor_used" and e.get("alone")
    ]
    assert used["methods"] == ["swk", "user"]


def test_a_passkey_that_did_not_verify_its_user_is_refused(passkeys: Env) -> None:
    authenticator = new_authenticator()
    assert enroll(passkeys, authenticator).status_code == 303
    authenticator.verifies_user = False
    response, _, _ = log_in(passkeys, authenticator)
    assert response.status_code == 400
    assert "Log in with your password instead." in response.text
    assert 'id="back-to-login"' in response.text


def test_a_replayed_answer_is_refused(passkeys: Env) -> None:
    authenticator = new_authenticator()
    assert enroll(passkeys, authenticator).status_code == 303
    authenticator.verifies_user = False
    first, url, data = log_in(passkeys, authenticator)
    assert first.status_code == 400
    again = passkeys.client.post(url, data=data)
    assert again.status_code == 400
    assert "This page has expired." in again.text


def test_a_passkey_of_nobody_is_refused(passkeys: Env) -> None:
    stranger = new_authenticator()
    stranger.user_handle = b"nobody"
    response, _, _ = log_in(passkeys, stranger)
    assert response.status_code == 400
    assert "This passkey is not known for this account." in response.text


def test_bad_requests_get_clear_answers(passkeys: Env) -> None:
    url, fields = login_page(passkeys)
    options = passkeys.client.post(f"{url}/options", data={"csrf": "wrong"})
    assert options.status_code == 403
    assert options.json()["error"] == "expired"
    gone = passkeys.client.post("/factors/passkeys/passwordless/nope/options", data={})
    assert gone.status_code == 400
    assert gone.json()["message"] == "This page has expired. Please try again."
    body = offered(passkeys, url, fields)
    for credential in ("", "{", '{"id": "AAAA", "response": []}'):
        data = {
            "csrf": fields["csrf"],
            "challenge_id": body["challenge_id"],
            "credential": credential,
        }
        response = passkeys.client.post(url, data=data)
        assert response.status_code == 400, response.text
        assert 'id="form-error"' in response.text


def test_the_refusal_speaks_the_language_of_the_login(passkeys: Env) -> None:
    passkeys.client.cookies.clear()
    page = passkeys.client.get(authorize(passkeys, ui_locales="nl").headers["location"])
    url = re.search(r'data-passwordless-url="([^"]+)"', page.text)
    assert url, page.text
    assert "Inloggen met een passkey" in page.text
    fields = hidden_inputs(page.text)
    body = offered(passkeys, url.group(1), fields)
    assert body["messages"]["cancelled"].startswith("De passkey is geannuleerd.")
    data = {"csrf": fields["csrf"], "challenge_id": body["challenge_id"], "credential": "{"}
    response = passkeys.client.post(url.group(1), data=data)
    assert response.status_code == 400
    assert "Het antwoord van de browser was niet te lezen." in response.text
