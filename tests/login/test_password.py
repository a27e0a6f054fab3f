"""The password step through HTTP: form, generic error, CSRF, cancel, languages."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from idp.app import create_app
from tests.conftest import (
    ISSUER,
    PASSWORD,
    RP,
    Env,
    authorize,
    hidden_inputs,
    login,
    make_settings,
    query_of,
    submit_password,
)
from tests.html_page import element_by_id


def _login_location(env: Env, **params: str) -> str:
    response = authorize(env, **params)
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("/login/")
    return location


def test_login_page_has_csrf_token_and_prefilled_hint(env: Env) -> None:
    env.add_client()
    page = env.client.get(_login_location(env, login_hint="alice"))
    assert page.status_code == 200
    assert hidden_inputs(page.text)["csrf"]
    assert 'value="alice"' in page.text
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"


def test_wrong_password_and_unknown_user_get_the_same_message(env: Env) -> None:
    env.add_client()
    env.add_user()
    location = _login_location(env)
    wrong = submit_password(env, location, password="not the password")
    unknown = submit_password(env, location, username="mallory")
    assert wrong.status_code == unknown.status_code == 401
    message = "The username or password is incorrect."
    assert message in wrong.text and message in unknown.text


def test_a_refused_login_points_both_fields_at_its_message(env: Env) -> None:
    env.add_client()
    env.add_user()
    location = _login_location(env)
    first = env.client.get(location)
    for field in ("username", "password"):
        assert "aria-invalid" not in element_by_id(first.text, field).attributes

    wrong = submit_password(env, location, password="not the password")
    assert element_by_id(wrong.text, "form-error").text == "The username or password is incorrect."
    for field in ("username", "password"):
        attributes = element_by_id(wrong.text, field).attributes
        assert attributes["aria-invalid"] == "true"
        assert attributes["aria-describedby"] == "form-error"


def test_correct_password_returns_code_and_sets_session_cookie(env: Env) -> None:
    env.add_client()
    env.add_user()
    result = login(env)
    assert result["state"] == "st4te" and result["code"]
    assert result["iss"] == env.settings.issuer
    cookie = next(c for c in env.client.cookies.jar if c.name == "idp_session")
    assert cookie.secure  # the issuer is https
    assert cookie.has_nonstandard_attr("HttpOnly")


def test_post_without_the_right_csrf_token_is_refused(env: Env) -> None:
    env.add_client()
    env.add_user()
    location = _login_location(env)
    response = env.client.post(
        location, data={"csrf": "forged", "username": "alice", "password": PASSWORD}
    )
    assert response.status_code == 403
    assert "idp_session" not in env.client.cookies


def test_a_csrf_token_with_non_ascii_text_is_refused(env: Env) -> None:
    env.add_client()
    env.add_user()
    location = _login_location(env)
    response = env.client.post(
        location, data={"csrf": "f\u00f6rged", "username": "alice", "password": PASSWORD}
    )
    assert response.status_code == 403


def test_login_page_from_another_browser_is_refused(env: Env) -> None:
    env.add_client()
    location = _login_location(env)
    env.client.cookies.clear()
    page = env.client.get(location)
    assert page.status_code == 400
    assert "expired" in page.text


def test_cancel_returns_access_denied_to_the_client(env: Env) -> None:
    env.add_client()
    location = _login_location(env)
    fields = hidden_inputs(env.client.get(location).text)
    response = env.client.post(location, data={**fields, "action": "cancel"})
    assert response.status_code == 303
    assert response.headers["location"].startswith(RP)
    params = query_of(response.headers["location"])
    assert params["error"] == "access_denied" and params["state"] == "st4te"


def test_dutch_by_accept_language_and_by_ui_locales(env: Env) -> None:
    env.add_client()
    env.client.headers["Accept-Language"] = "nl-NL,nl;q=0.9,en;q=0.5"
    page = env.client.get(_login_location(env))
    assert 'lang="nl"' in page.text and "Gebruikersnaam" in page.text
    env.client.headers["Accept-Language"] = "en"
    page = env.client.get(_login_location(env, ui_locales="nl"))
    assert 'lang="nl"' in page.text
    assert "Wachtwoord" in page.text


def test_english_is_the_default(env: Env) -> None:
    env.add_client()
    page = env.client.get(_login_location(env), headers={"Accept-Language": "fr"})
    assert 'lang="en"' in page.text and "Password" in page.text


def test_enter_in_the_password_field_logs_in_rather_than_cancels(env: Env) -> None:
    """A browser submits a form on Enter with its first submit button."""
    import re

    env.add_client()
    page = env.client.get(_login_location(env))
    buttons = re.findall(r'<button type="submit" name="action" value="([a-z]+)"', page.text)
    assert buttons[0] == "login" and "cancel" in buttons


def test_a_hash_made_with_weaker_settings_is_upgraded_at_login(tmp_path: Path) -> None:
    def started(time_cost: str) -> Env:
        settings = make_settings(tmp_path, IDP_PASSWORDS_TIME_COST=time_cost)
        app = create_app(settings)
        return Env(app, TestClient(app, base_url=ISSUER, follow_redirects=False), settings)

    before = started("1")
    with before.client:
        before.add_client()
        before.add_user()  # hashed with time_cost 1
    after = started("2")
    with after.client:
        assert ",t=1," in after.store.find_user("alice").password_hash
        assert login(after)["code"]
        upgraded = after.store.find_user("alice").password_hash
        assert ",t=2," in upgraded
        assert after.provider.passwords.verify(upgraded, PASSWORD)
