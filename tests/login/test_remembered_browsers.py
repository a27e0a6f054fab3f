""" "Remember this browser": the checkbox on the Pocket pages where the user proves the
factor, the skipped factor at the next login (for that user only, with honest amr/acr),
what asks for the factor all the same, and every way a remembered browser ends."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from idp.app import create_app
from idp.cli.main import main
from idp.login.acr import ACR_MFA, ACR_PASSWORD
from idp.login.remembered_browsers import REMEMBER_COOKIE, REMEMBERED_MODEL
from idp.store.short_lived import is_short_lived
from tests.admin_api.conftest import API, admin_client, client_token
from tests.conftest import ISSUER, RP, authorize, hidden_inputs, query_of, submit_password
from tests.plugins.pocket_mfa.conftest import (
    Clock,
    PocketEnv,
    enroll,
    form_post,
    id_token_claims,
    paired_phone,
    pocket_settings,
    start,
)
from tests.test_account_password import change

DAYS = "30"
CHECKBOX = 'name="remember_browser" value="1"'
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


@pytest.fixture
def pocket(tmp_path: Path) -> Iterator[PocketEnv]:
    settings = pocket_settings(tmp_path, IDP_FACTORS_REMEMBER_DAYS=DAYS)
    app = create_app(settings)
    with TestClient(app, base_url=ISSUER, follow_redirects=False) as client:
        client.headers["user-agent"] = FIREFOX
        env = PocketEnv(app, client, settings, Clock())
        env.plugin.services.checker.clock = env.clock
        env.add_client(mfa="required")
        env.add_client("admin-app", mfa="required", remember_browser=False)
        env.add_user()
        yield env


def log_out(env: PocketEnv) -> None:
    """This browser's SSO session goes; its other cookies stay."""
    env.client.cookies.delete(env.settings.session.cookie_name)


def code_login(env: PocketEnv, secret: str, remember: bool, **params: str) -> Any:
    """Through the password to the code page; the code, with the box ticked or not."""
    env.clock.advance()
    location = start(env, **params)
    page = env.client.get(location)
    assert page.status_code == 200 and CHECKBOX in page.text, page.text
    assert "Remember this browser for 30 days" in page.text
    extra = {"remember_browser": "1"} if remember else {}
    return form_post(env, location, page.text, code=env.code(secret), action="next", **extra)


def enrolled_and_remembered(env: PocketEnv) -> str:
    """Alice enrolls an authenticator app, then logs in again and ticks the box."""
    secret = enroll(env, start(env)).secret
    log_out(env)
    done = code_login(env, secret, remember=True)
    assert done.status_code == 303 and done.headers["location"].startswith(RP)
    log_out(env)
    return secret


def password_login(env: PocketEnv, username: str = "alice", **params: str) -> Any:
    response = authorize(env, **params)
    assert response.status_code == 303, response.text
    return submit_password(env, response.headers["location"], username)


def test_a_remembered_browser_skips_the_factor_and_says_so_honestly(pocket: PocketEnv) -> None:
    enrolled_and_remembered(pocket)
    set_cookie = [h for h in pocket.client.cookies.jar if h.name == REMEMBER_COOKIE]
    assert set_cookie and set_cookie[0].secure and set_cookie[0].has_nonstandard_attr("HttpOnly")
    response = password_login(pocket)
    assert response.status_code == 303 and response.headers["location"].startswith(RP)
    claims = id_token_claims(pocket, query_of(response.headers["location"])["code"])
    # the second factor was not used in this login: no "mfa", the password's acr
    assert claims["amr"] == ["pwd"] and claims["acr"] == ACR_PASSWORD


def test_the_cookie_carries_an_id_and_the_record_lives_in_the_durable_store(
    pocket: PocketEnv,
) -> None:
    secret = enroll(pocket, start(pocket)).secret
    log_out(pocket)
    done = code_login(pocket, secret, remember=True)
    header = done.headers["set-cookie"]
    assert f"{REMEMBER_COOKIE}=" in header
    assert "httponly" in header.lower() and "samesite=lax" in header.lower()
    assert "secure" in header.lower() and f"max-age={int(DAYS) * 86400}" in header.lower()
    value = pocket.client.cookies[REMEMBER_COOKIE]
    sub = pocket.store.find_user("alice").sub
    assert sub not in value and "alice" not in value
    [(record_id, record)] = pocket.store.find_by_sub(REMEMBERED_MODEL, sub)
    assert record_id not in value and record["sub"] == sub
    assert record["expires_at"] - record["created_at"] == int(DAYS) * 86400
    assert not is_short_lived(REMEMBERED_MODEL)


def test_without_the_box_the_factor_is_asked_again(pocket: PocketEnv) -> None:
    secret = enroll(pocket, start(pocket)).secret
    log_out(pocket)
    assert code_login(pocket, secret, remember=False).status_code == 303
    log_out(pocket)
    assert REMEMBER_COOKIE not in pocket.client.cookies
    assert password_login(pocket).headers["location"].startswith("/factors/pocket/verify/")


def test_another_user_on_the_same_browser_still_needs_their_factor(pocket: PocketEnv) -> None:
    enrolled_and_remembered(pocket)
    pocket.add_user("bob")
    bob = pocket.store.find_user("bob")
    pocket.run(pocket.plugin.services.enrollments.save_totp, bob.sub, "JBSWY3DPEHPK3PXP")
    response = password_login(pocket, "bob")
    assert response.headers["location"].startswith("/factors/pocket/verify/")


@pytest.mark.parametrize(
    "params",
    [{"acr_values": ACR_MFA}, {"prompt": "login"}, {"max_age": "3600"}],
    ids=["acr-step-up", "prompt-login", "max-age"],
)
def test_a_relying_party_that_asks_for_a_fresh_factor_gets_it(
    pocket: PocketEnv, params: dict[str, str]
) -> None:
    secret = enrolled_and_remembered(pocket)
    response = password_login(pocket, **params)
    location = response.headers["location"]
    assert location.startswith("/factors/pocket/verify/"), location
    page = pocket.client.get(location)
    pocket.clock.advance()
    done = form_post(pocket, location, page.text, code=pocket.code(secret), action="next")
    claims = id_token_claims(pocket, query_of(done.headers["location"])["code"])
    assert claims["amr"] == ["pwd", "otp", "mfa"] and claims["acr"] == ACR_MFA


def test_a_client_that_forbids_it_neither_offers_nor_honours_it(pocket: PocketEnv) -> None:
    enrolled_and_remembered(pocket)
    location = password_login(pocket, client_id="admin-app").headers["location"]
    assert location.startswith("/factors/pocket/verify/")
    assert CHECKBOX not in pocket.client.get(location).text
    log_out(pocket)
    # the same browser is still spared its factor for a client that allows it
    assert password_login(pocket).headers["location"].startswith(RP)


def test_a_forged_or_forgotten_cookie_counts_for_nothing(pocket: PocketEnv) -> None:
    enrolled_and_remembered(pocket)
    value = pocket.client.cookies[REMEMBER_COOKIE]
    browser_id, _, mac = value.partition(".")
    pocket.client.cookies.set(REMEMBER_COOKIE, f"{browser_id}.{mac[::-1]}", domain="idp.test")
    assert password_login(pocket).headers["location"].startswith("/factors/pocket/verify/")
    pocket.client.cookies.set(REMEMBER_COOKIE, value, domain="idp.test")
    log_out(pocket)
    sub = pocket.store.find_user("alice").sub
    [(record_id, _)] = pocket.store.find_by_sub(REMEMBERED_MODEL, sub)
    pocket.store.destroy(REMEMBERED_MODEL, record_id)
    assert password_login(pocket).headers["location"].startswith("/factors/pocket/verify/")


def test_the_push_page_offers_the_box_and_the_approval_remembers(pocket: PocketEnv) -> None:
    phone = paired_phone(pocket)
    location = start(pocket)
    assert location.startswith("/factors/pocket/push/")
    assert pocket.client.get(location).status_code == 303  # the push is sent
    page = pocket.client.get(location)
    assert CHECKBOX in page.text
    number = int(re.findall(r'id="push-number"[^>]*>(\d+)<', page.text)[0])
    [challenge] = phone.challenges()
    assert phone.answer(challenge["id"], "approve", number).json() == {"status": "approved"}
    done = form_post(pocket, location, page.text, action="check", remember_browser="1")
    assert done.status_code == 303 and done.headers["location"].startswith(RP), done.text
    log_out(pocket)
    assert password_login(pocket).headers["location"].startswith(RP)


# --- listed and removed; every remembered browser ends with these
def account_page(pocket: PocketEnv) -> str:
    """Alice's account page (the login for it is spared by the remembered browser)."""
    page = pocket.client.get("/account")
    while page.status_code in (302, 303):
        location = page.headers["location"]
        if location.startswith("/login/"):
            page = submit_password(pocket, location)
        else:
            page = pocket.client.get(location)
    assert page.status_code == 200, page.text
    return str(page.text)


def remembered(pocket: PocketEnv) -> int:
    sub = pocket.store.find_user("alice").sub
    return len(pocket.store.find_by_sub(REMEMBERED_MODEL, sub))


@pytest.mark.parametrize("locale", ["en", "nl"])
def test_the_account_page_lists_and_forgets_a_browser(pocket: PocketEnv, locale: str) -> None:
    enrolled_and_remembered(pocket)
    pocket.client.headers["accept-language"] = locale
    page = account_page(pocket)
    heading = {"en": "Remembered browsers", "nl": "Onthouden browsers"}[locale]
    assert f"<h2>{heading}</h2>" in page and "Firefox 128 on Linux" in page
    [form] = re.findall(
        r'<form method="post" action="/account/browsers/forget".*?</form>', page, re.S
    )
    forgotten = pocket.client.post("/account/browsers/forget", data=hidden_inputs(form))
    assert forgotten.status_code == 303 and remembered(pocket) == 0
    events = audited(pocket)
    assert "browser_remembered" in events and events[-1] == "browser_forgotten"
    shown = {"en": "No browser is remembered.", "nl": "Er is geen browser onthouden."}[locale]
    assert shown in pocket.client.get("/account").text


def test_log_out_everywhere_ends_sessions_and_remembered_browsers(pocket: PocketEnv) -> None:
    enrolled_and_remembered(pocket)
    page = account_page(pocket)
    assert 'id="logout-everywhere"' in page
    [form] = re.findall(
        r'<form method="post" action="/account/logout-everywhere".*?</form>', page, re.S
    )
    ended = pocket.client.post("/account/logout-everywhere", data=hidden_inputs(form))
    assert ended.status_code == 303 and remembered(pocket) == 0
    sub = pocket.store.find_user("alice").sub
    assert pocket.store.find_by_sub("session", sub) == []
    assert password_login(pocket).headers["location"].startswith("/factors/pocket/verify/")
    [ended_event] = [
        e for e in pocket.run(pocket.provider.audit.events) if e["event"] == "sessions_ended"
    ]
    assert (ended_event["sub"], ended_event["actor"]) == (sub, "user")


def audited(pocket: PocketEnv) -> list[str]:
    """The names of the audit events kept so far, oldest first."""
    return [event["event"] for event in pocket.run(pocket.provider.audit.events)]


def test_a_password_change_on_the_account_page_forgets_them(pocket: PocketEnv) -> None:
    secret = enrolled_and_remembered(pocket)
    account_page(pocket)
    pocket.clock.advance()
    assert change(pocket, code=pocket.code(secret)).status_code == 303
    assert remembered(pocket) == 0


def admin_api(pocket: PocketEnv) -> dict[str, str]:
    client_id, secret = admin_client(pocket)
    return {"Authorization": f"Bearer {client_token(pocket, client_id, secret)}"}


def test_the_admin_api_lists_and_removes_one(pocket: PocketEnv) -> None:
    enrolled_and_remembered(pocket)
    headers = admin_api(pocket)
    sub = pocket.store.find_user("alice").sub
    listed = pocket.client.get(f"{API}/users/{sub}/methods", headers=headers).json()["items"]
    [browser] = [m for m in listed if m["plugin"] == "browser"]
    assert browser["kind"] == "remembered browser" and browser["device"] is True
    assert browser["last_used"] and browser["label"] == "Firefox 128 on Linux"
    path = f"{API}/users/{sub}/methods/{browser['id']}"
    assert pocket.client.delete(path, headers=headers).status_code == 204
    assert remembered(pocket) == 0
    assert pocket.client.delete(path, headers=headers).status_code == 404


@pytest.mark.parametrize(
    "ending",
    ["set-password", "reset-mfa", "end-all-sessions"],
)
def test_the_admin_api_ends_them(pocket: PocketEnv, ending: str) -> None:
    enrolled_and_remembered(pocket)
    headers = admin_api(pocket)
    sub = pocket.store.find_user("alice").sub
    base = f"{API}/users/{sub}"
    if ending == "set-password":
        answer = pocket.client.post(
            f"{base}/password", json={"password": "another long one"}, headers=headers
        )
        assert answer.status_code == 204
    elif ending == "reset-mfa":
        answer = pocket.client.post(f"{base}/second-factor/reset", json={}, headers=headers)
        assert answer.status_code == 200
    else:
        assert pocket.client.delete(f"{base}/sessions", headers=headers).status_code == 200
    assert remembered(pocket) == 0


def test_the_cli_reset_mfa_forgets_them(
    pocket: PocketEnv, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    enrolled_and_remembered(pocket)
    config = tmp_path / "cli.toml"
    config.write_text(f'[store]\npath = "{pocket.settings.store.path}"\n')
    assert main(["--config", str(config), "users", "devices", "alice"]) == 0
    assert "remembered" in capsys.readouterr().out
    assert main(["--config", str(config), "users", "reset-mfa", "alice"]) == 0
    assert "removed 1 second-factor item(s) of alice" in capsys.readouterr().out
    assert remembered(pocket) == 0
