"""The account page: logging in to it, and revoking a consent."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from idp.account import ACCOUNT_CLIENT_ID
from idp.app import create_app
from idp.store import Client
from tests.conftest import (
    ISSUER,
    Env,
    authorize,
    hidden_inputs,
    make_settings,
    open_blocking,
    query_of,
    submit_password,
)

#: the account client as a version of the IdP with another issuer wrote it
OLD_ACCOUNT_CLIENT = Client(
    client_id=ACCOUNT_CLIENT_ID,
    name="Account",
    redirect_uris=("http://127.0.0.1:8000/account/callback",),
    public=True,
    token_endpoint_auth_method="none",
    grant_types=("authorization_code",),
    scopes=("openid", "profile"),
    first_party=True,
)


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


def test_the_account_page_works_after_its_client_had_another_issuers_address(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path)
    store = open_blocking(settings.store)
    store.add_client(OLD_ACCOUNT_CLIENT)
    store.close()
    app = create_app(settings)
    with TestClient(app, base_url=ISSUER, follow_redirects=False) as client:
        env = Env(app, client, settings)
        env.add_user(name="Alice Example")
        assert "Logged in as Alice Example." in _log_in_to_account(env)
