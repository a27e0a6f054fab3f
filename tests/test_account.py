"""The account page: logging in to it, and revoking a consent."""

from __future__ import annotations

from tests.conftest import Env, authorize, hidden_inputs, query_of, submit_password


def _log_in_to_account(env: Env) -> str:
    response = env.client.get("/account")
    assert response.status_code == 303
    assert query_of(response.headers["location"])["client_id"] == "account"
    response = env.client.get(response.headers["location"])
    response = submit_password(env, response.headers["location"])
    assert response.headers["location"].startswith(f"{env.settings.issuer}/account/callback")
    response = env.client.get(response.headers["location"])
    assert response.headers["location"] == "/account"
    page = env.client.get("/account")
    assert page.status_code == 200
    return page.text


def test_account_page_needs_a_login_and_then_shows_the_user(env: Env) -> None:
    env.add_user(name="Alice Example")
    text = _log_in_to_account(env)
    assert "Logged in as Alice Example." in text
    assert "You have not given any application access." in text


def test_a_consent_is_listed_and_can_be_revoked(env: Env) -> None:
    env.add_user()
    env.add_client(first_party=False, name="Third Party Wiki")
    _log_in_to_account(env)
    consent = env.client.get(authorize(env).headers["location"])
    fields = hidden_inputs(consent.text)
    env.client.post(consent.url.path, data={**fields, "action": "allow"})
    text = env.client.get("/account").text
    assert "Third Party Wiki" in text
    forged = env.client.post("/account/consents/revoke", data={"csrf": "forged", "client_id": "rp"})
    assert forged.status_code == 403
    odd = env.client.post("/account/consents/revoke", data={"csrf": "\u00e9", "client_id": "rp"})
    assert odd.status_code == 403
    assert env.store.find("consent", f"{env.store.find_user('alice').sub}:rp") is not None
    csrf = hidden_inputs(text)["csrf"]
    done = env.client.post("/account/consents/revoke", data={"csrf": csrf, "client_id": "rp"})
    assert done.status_code == 303
    assert "Third Party Wiki" not in env.client.get("/account").text
    # the next login asks again
    assert authorize(env).headers["location"].startswith("/consent/")
