"""The way back into a login whose pending login is gone (the cookie idp_restart)."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qsl, urlsplit

from idp.login.restarts import MAX_COOKIE_BYTES, RESTART_COOKIE
from tests.conftest import ISSUER, PASSWORD, RP, Env, authorize, hidden_inputs
from tests.html_page import element_by_id


def _begin(env: Env, **params: str) -> str:
    """An authorization request that stops at the login form; the form's path."""
    response = authorize(env, **params)
    assert response.status_code == 303, response.text
    location: str = response.headers["location"]
    assert location.startswith("/login/")
    return location


def _link(page_html: str) -> str:
    return element_by_id(page_html, "error-link").attributes["href"]


def test_a_login_whose_record_is_gone_links_to_its_own_authorization_request(env: Env) -> None:
    env.add_client()
    env.add_user()
    params = {"ui_locales": "nl", "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}
    location = _begin(env, **params, code_challenge_method="S256", login_hint="alice")
    env.store.destroy("login", location.removeprefix("/login/"))  # lost, as with Redis

    page = env.client.get(location, headers={"accept-language": "en"})

    assert page.status_code == 400
    assert '<html lang="nl">' in page.text  # the login's language
    assert "Opnieuw beginnen met inloggen" in page.text
    link = _link(page.text)
    assert link.startswith(f"{ISSUER}/authorize?")
    asked = dict(parse_qsl(urlsplit(link).query))
    assert asked["state"] == "st4te" and asked["nonce"] == "n0nce"
    assert asked["redirect_uri"] == RP and asked["login_hint"] == "alice"
    assert asked["code_challenge"] == params["code_challenge"]
    again = env.client.get(link)
    assert again.status_code == 303 and again.headers["location"].startswith("/login/")


def test_a_finished_login_is_forgotten(env: Env) -> None:
    env.add_client()
    env.add_user()
    location = _begin(env)
    assert env.client.cookies.get(RESTART_COOKIE)
    form = hidden_inputs(env.client.get(location).text)
    done = env.client.post(
        location,
        data={**form, "username": "alice", "password": PASSWORD, "action": "login"},
    )
    assert done.status_code == 303 and done.headers["location"].startswith(RP), done.text
    assert not env.client.cookies.get(RESTART_COOKIE)
    page = env.client.get(location)
    assert page.status_code == 400 and 'id="error-link"' not in page.text


def test_a_cookie_that_cannot_be_read_gives_the_plain_expired_page(env: Env) -> None:
    env.add_client()
    location = _begin(env)
    env.store.destroy("login", location.removeprefix("/login/"))
    deep = base64.urlsafe_b64encode(b"[" * 3000).decode()
    for value in ("garbage!", deep, base64.urlsafe_b64encode(b'{"x": 1}').decode()):
        env.client.cookies.delete(RESTART_COOKIE)
        env.client.cookies.set(RESTART_COOKIE, value)
        page = env.client.get(location)
        assert page.status_code == 400 and 'id="error-link"' not in page.text
        assert "This login has expired" in page.text


def test_the_link_goes_to_the_authorization_endpoint_whatever_the_cookie_says(env: Env) -> None:
    env.add_client()
    location = _begin(env)
    login_id = location.removeprefix("/login/")
    env.store.destroy("login", login_id)
    forged = {login_id: [4102444800, "en", "a=1#@evil.test/x?b=2 https://evil.test"]}
    raw = json.dumps(forged).encode()
    env.client.cookies.delete(RESTART_COOKIE)
    env.client.cookies.set(RESTART_COOKIE, base64.urlsafe_b64encode(raw).decode())

    link = _link(env.client.get(location).text)

    parts = urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{ISSUER}/authorize"
    assert not parts.fragment
    assert dict(parse_qsl(parts.query)) == {"a": "1#@evil.test/x?b=2 https://evil.test"}


def test_the_cookie_stays_small_however_many_logins_a_browser_begins(env: Env) -> None:
    env.add_client()
    locations = [_begin(env, login_hint=f"user{n}-" + "x" * 200) for n in range(30)]

    value = env.client.cookies.get(RESTART_COOKIE)
    assert value and len(value) <= MAX_COOKIE_BYTES
    for location in (locations[0], locations[-1]):
        env.store.destroy("login", location.removeprefix("/login/"))
    assert 'id="error-link"' in env.client.get(locations[-1]).text  # the newest is kept
    assert 'id="error-link"' not in env.client.get(locations[0]).text
