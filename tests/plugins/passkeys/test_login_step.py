"""The second-factor step over HTTP: a passkey created in the login, then used; every
bad answer gets its message and a fresh challenge, never a server error."""

from __future__ import annotations

import json

import pytest
from webauthn.helpers import bytes_to_base64url

from tests.conftest import RP, Env, query_of
from tests.plugins.passkeys.conftest import answer, enroll, new_authenticator, options_on, start
from tests.plugins.pocket_mfa.conftest import id_token_claims


def test_a_passkey_made_in_the_login_is_its_second_factor(passkeys: Env) -> None:
    authenticator = new_authenticator()
    response = enroll(passkeys, authenticator)
    assert response.status_code == 303, response.text
    assert response.headers["location"].startswith(RP)
    claims = id_token_claims(passkeys, query_of(response.headers["location"])["code"])
    assert claims["amr"] == ["pwd", "swk", "user", "mfa"]
    events = {e["event"]: e for e in passkeys.run(passkeys.provider.audit.events)}
    assert events["enrolled"]["method"] == "passkey"
    assert events["factor_used"]["methods"] == ["swk", "user"]

    passkeys.client.cookies.clear()
    location = start(passkeys)
    assert location.startswith("/factors/passkeys/login/")
    page = passkeys.client.get(location)
    options = options_on(page.text)
    assert options["userVerification"] == "preferred"
    allowed = [c["id"] for c in options["allowCredentials"]]
    assert allowed == [bytes_to_base64url(authenticator.credential_id)]
    authenticator.verifies_user = False
    response = answer(passkeys, location, page.text, json.dumps(authenticator.get(options)))
    assert response.status_code == 303, response.text
    claims = id_token_claims(passkeys, query_of(response.headers["location"])["code"])
    # without user verification the passkey is one factor ("swk"), with the password two
    assert claims["amr"] == ["pwd", "swk", "mfa"]


def verify_page(env: Env) -> tuple[str, str, dict[str, object]]:
    """A user with a passkey at the second-factor page: (url, html, options)."""
    location = start(env)
    page = env.client.get(location)
    assert page.status_code == 200, page.text
    return location, page.text, options_on(page.text)


@pytest.fixture
def enrolled(passkeys: Env) -> Env:
    authenticator = new_authenticator()
    assert enroll(passkeys, authenticator).status_code == 303
    passkeys.client.cookies.clear()
    passkeys.authenticator = authenticator  # type: ignore[attr-defined]
    return passkeys


@pytest.mark.parametrize(
    "credential",
    ["", "not json", "[]", '{"id": 5}', '{"id": "AAAA"}', '{"id": "x", "response": "bad"}'],
)
def test_a_malformed_answer_gets_a_message(enrolled: Env, credential: str) -> None:
    location, html, _ = verify_page(enrolled)
    response = answer(enrolled, location, html, credential)
    assert response.status_code == 400
    assert 'id="form-error"' in response.text
    assert "data-options=" in response.text  # a fresh challenge to try again with


def test_an_answer_for_a_used_challenge_is_refused(enrolled: Env) -> None:
    authenticator = enrolled.authenticator  # type: ignore[attr-defined]
    location, html, options = verify_page(enrolled)
    good = json.dumps(authenticator.get(options))
    refused = answer(enrolled, location, html, "not json")
    assert "could not be read" in refused.text
    # the refused answer used the challenge up: the right answer to it comes too late
    replayed = answer(enrolled, location, html, good)
    assert replayed.status_code == 400
    assert "This page has expired. Please try again." in replayed.text


def test_a_passkey_of_nobody_here_is_refused(enrolled: Env) -> None:
    location, html, options = verify_page(enrolled)
    stranger = new_authenticator()
    stranger.user_handle = b"someone"
    response = answer(enrolled, location, html, json.dumps(stranger.get(options)))
    assert response.status_code == 400
    assert "This passkey is not known for this account." in response.text


def test_a_counter_that_goes_backwards_is_refused(enrolled: Env) -> None:
    authenticator = enrolled.authenticator  # type: ignore[attr-defined]
    authenticator.sign_count = 10
    location, html, options = verify_page(enrolled)
    assert (
        answer(enrolled, location, html, json.dumps(authenticator.get(options))).status_code == 303
    )

    enrolled.client.cookies.clear()
    authenticator.sign_count = 5  # a clone, behind the original
    location, html, options = verify_page(enrolled)
    response = answer(enrolled, location, html, json.dumps(authenticator.get(options)))
    assert response.status_code == 400
    assert "its use counter went backwards" in response.text


def test_the_counter_and_backup_state_are_kept(enrolled: Env) -> None:
    authenticator = enrolled.authenticator  # type: ignore[attr-defined]
    authenticator.sign_count = 41
    location, html, options = verify_page(enrolled)
    assert (
        answer(enrolled, location, html, json.dumps(authenticator.get(options))).status_code == 303
    )
    plugin = enrolled.provider.plugins["passkeys"]
    user = enrolled.store.find_user("alice")
    (passkey,) = enrolled.run(plugin.ceremonies.passkeys.list, user.sub)
    assert passkey.sign_count == 42
    assert (passkey.backup_eligible, passkey.backup_state) == (True, True)
    assert passkey.last_used is not None
