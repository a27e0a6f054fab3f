"""Changing the password on the account page: the current password, a confirmation by
the second factor (an app code, a recovery code, or an approval on the phone), the new
password twice under the policy of `idp users set-password`; other SSO sessions end, this
one stays; wrong current passwords are throttled as at login."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from idp.app import create_app
from tests.conftest import (
    ISSUER,
    PASSWORD,
    RP,
    Env,
    hidden_inputs,
    login,
    make_settings,
    query_of,
    submit_password,
)
from tests.plugins.pocket_mfa.conftest import (
    Clock,
    PocketEnv,
    enroll,
    form_post,
    paired_phone,
    pocket_settings,
    start,
    verify,
    wait_url_on,
)
from tests.plugins.pocket_mfa.push.conftest import Phone

PAGE = "/account/password"
NEW = "a brand new passphrase"

#: what the page says, per language
TEXTS = {
    "en": {
        "title": "<h1>Change your password</h1>",
        "changed": "Your password has been changed.",
        "mismatch": "The two new passwords are not the same.",
        "too_short": "The new password is too short: use at least 8 characters.",
        "factor_missing": "Confirm the change with your second factor",
        "wrong_current": "Your current password is not right.",
        "code_wrong": "That code is not right. Nothing was changed.",
        "locked": "Too many failed attempts.",
        "push": ">Approve on your phone</button>",
    },
    "nl": {
        "title": "<h1>Je wachtwoord wijzigen</h1>",
        "changed": "Je wachtwoord is gewijzigd.",
        "mismatch": "De twee nieuwe wachtwoorden zijn niet gelijk.",
        "too_short": "Het nieuwe wachtwoord is te kort: gebruik minstens 8 tekens.",
        "factor_missing": "Bevestig de wijziging met je tweede factor",
        "wrong_current": "Je huidige wachtwoord klopt niet.",
        "code_wrong": "Deze code klopt niet. Er is niets gewijzigd.",
        "locked": "Te veel mislukte pogingen.",
        "push": ">Akkoord geven op je telefoon</button>",
    },
}


@pytest.fixture
def pocket(tmp_path: Path) -> Iterator[PocketEnv]:
    """The Pocket plugin on; three wrong passwords lock the account, without delays."""
    settings = pocket_settings(tmp_path, IDP_LOGIN_ACCOUNT_LIMIT="3", IDP_LOGIN_SLOW_AFTER="100")
    app = create_app(settings)
    with TestClient(app, base_url=ISSUER, follow_redirects=False) as client:
        env = PocketEnv(app, client, settings, Clock())
        env.plugin.services.checker.clock = env.clock
        env.add_client(mfa="required")
        env.add_user()
        yield env


def lang(locale: str) -> dict[str, str]:
    return {"accept-language": locale}


def change(env: Env, locale: str = "en", **fields: str) -> Any:
    """Fill in the password page's form and send it."""
    page = env.client.get(PAGE, headers=lang(locale))
    assert page.status_code == 200, page.text
    data = {"current": PASSWORD, "new": NEW, "repeat": NEW, "action": "change", **fields}
    return env.client.post(PAGE, data={**hidden_inputs(page.text), **data}, headers=lang(locale))


def password_is(env: Env, password: str) -> bool:
    user = env.store.find_user("alice")
    ok: bool = env.provider.passwords.verify(user.password_hash, password)
    return ok


def code_login_elsewhere(env: PocketEnv, secret: str) -> dict[str, str]:
    """Alice logs in in another browser (with an app code); that browser's cookies. The
    cookies of this browser are kept."""
    mine = dict(env.client.cookies)
    env.client.cookies.clear()
    env.clock.advance()
    location = start(env)
    assert verify(env, location, env.code(secret)).headers["location"].startswith(RP)
    theirs = dict(env.client.cookies)
    env.client.cookies.clear()
    env.client.cookies.update(mine)
    return theirs


def has_session(env: Env, cookies: dict[str, str]) -> bool:
    """Whether a browser with these cookies is still logged in (its account page shows)."""
    mine = dict(env.client.cookies)
    env.client.cookies.clear()
    env.client.cookies.update(cookies)
    try:
        return bool(env.client.get("/account").status_code == 200)
    finally:
        env.client.cookies.clear()
        env.client.cookies.update(mine)


def password_login_reaches_the_factor(env: Env, password: str) -> bool:
    """A new browser logs in with this password: does it get past the password step?"""
    mine = dict(env.client.cookies)
    env.client.cookies.clear()
    try:
        started = env.client.get(
            "/authorize",
            params={
                "response_type": "code",
                "client_id": "rp",
                "redirect_uri": RP,
                "scope": "openid",
                "prompt": "login",
            },
        )
        response = submit_password(env, started.headers["location"], "alice", password)
        return bool(response.status_code == 303)
    finally:
        env.client.cookies.clear()
        env.client.cookies.update(mine)


@pytest.mark.parametrize("locale", ["en", "nl"])
def test_a_new_password_confirmed_by_an_app_code(
    pocket: PocketEnv, locale: str, caplog: pytest.LogCaptureFixture
) -> None:
    enrolled = enroll(pocket, start(pocket))
    elsewhere = code_login_elsewhere(pocket, enrolled.secret)
    assert has_session(pocket, elsewhere)
    assert password_login_reaches_the_factor(pocket, PASSWORD)
    account = pocket.client.get("/account", headers=lang(locale))
    assert 'href="/account/password"' in account.text
    page = pocket.client.get(PAGE, headers=lang(locale))
    assert TEXTS[locale]["title"] in page.text
    assert 'name="code"' in page.text and TEXTS[locale]["push"] not in page.text
    pocket.clock.advance()
    changed = change(pocket, locale, code=pocket.code(enrolled.secret))
    assert changed.status_code == 303, changed.text
    assert changed.headers["location"] == f"{PAGE}?done=changed"
    shown = pocket.client.get(changed.headers["location"], headers=lang(locale))
    assert TEXTS[locale]["changed"] in shown.text
    # this browser stays logged in; the other one is logged out
    assert pocket.client.get("/account").status_code == 200
    assert not has_session(pocket, elsewhere)
    # the old password no longer works, the new one does
    assert not password_login_reaches_the_factor(pocket, PASSWORD)
    assert password_login_reaches_the_factor(pocket, NEW)
    [event] = [e for e in pocket.audit() if e["event"] == "password_changed"]
    assert event["confirmed_by"] == "code"
    assert event["sessions_ended"] == 1


def test_a_recovery_code_confirms_too(pocket: PocketEnv) -> None:
    enrolled = enroll(pocket, start(pocket))
    assert change(pocket, code=enrolled.codes[0]).status_code == 303
    assert password_is(pocket, NEW)


def push_login(env: PocketEnv, phone: Phone) -> None:
    location = start(env, prompt="login")
    env.client.get(location)
    page = env.client.get(location)
    [challenge] = phone.challenges()
    phone.answer(challenge["id"], "approve", shown_number(page.text))
    assert env.client.get(location).headers["location"].startswith(RP)


def shown_number(page_html: str) -> int:
    found = re.search(r'id="push-number"[^>]*>(\d+)<', page_html)
    assert found, page_html
    return int(found.group(1))


def ask_phone(env: PocketEnv, locale: str = "en") -> tuple[str, Any]:
    """Send the form with "Approve on your phone": the waiting page."""
    sent = change(env, locale, action="confirm")
    assert sent.status_code == 303, sent.text
    waiting_url = sent.headers["location"]
    assert waiting_url.startswith("/factors/pocket/confirm/")
    page = env.client.get(waiting_url, headers=lang(locale))
    assert page.status_code == 200
    return waiting_url, page


@pytest.mark.parametrize("locale", ["en", "nl"])
def test_a_new_password_approved_on_the_phone(pocket: PocketEnv, locale: str) -> None:
    phone = paired_phone(pocket)  # a phone, nothing to type
    push_login(pocket, phone)
    page = pocket.client.get(PAGE, headers=lang(locale))
    assert TEXTS[locale]["push"] in page.text and 'name="code"' not in page.text
    waiting_url, waiting = ask_phone(pocket, locale)
    purpose = {"en": "Change your password", "nl": "Je wachtwoord wijzigen"}[locale]
    assert f'<p class="lead" id="confirm-purpose">{purpose}</p>' in waiting.text
    [challenge] = phone.challenges()
    assert challenge["client_name"] == purpose
    assert password_is(pocket, PASSWORD)  # nothing changes before the approval
    phone.answer(challenge["id"], "approve", shown_number(waiting.text))
    assert pocket.client.get(wait_url_on(waiting.text)).json()["done"] is True
    approved = pocket.client.get(waiting_url)
    assert approved.status_code == 303
    assert approved.headers["location"].startswith(f"{PAGE}/")
    made = pocket.client.get(approved.headers["location"])
    assert made.status_code == 303 and made.headers["location"] == f"{PAGE}?done=changed"
    assert password_is(pocket, NEW)
    assert pocket.client.get("/account").status_code == 200
    # the approval made one change
    again = pocket.client.get(approved.headers["location"])
    assert again.headers["location"] == PAGE


@pytest.mark.parametrize("answer", ["deny", "wrong_number"])
def test_a_push_not_approved_changes_nothing(pocket: PocketEnv, answer: str) -> None:
    phone = paired_phone(pocket)
    push_login(pocket, phone)
    waiting_url, waiting = ask_phone(pocket)
    number = shown_number(waiting.text)
    [challenge] = phone.challenges()
    if answer == "deny":
        phone.answer(challenge["id"], "deny")
    else:
        phone.answer(
            challenge["id"], "approve", next(n for n in challenge["numbers"] if n != number)
        )
    ended = pocket.client.get(waiting_url)
    assert ended.status_code == 200 and "othing was changed" in ended.text
    # the change's address does nothing without the approval
    records = pocket.run(pocket.provider.store.find_since, "password_change", 0)
    [(change_id, _)] = records
    refused = pocket.client.get(f"{PAGE}/{change_id}")
    assert refused.status_code == 303 and refused.headers["location"] == PAGE
    assert password_is(pocket, PASSWORD)


@pytest.mark.parametrize("locale", ["en", "nl"])
@pytest.mark.parametrize(
    ("mistake", "fields", "status", "field"),
    [
        ("mismatch", {"repeat": NEW + "!"}, 400, "repeat"),
        ("too_short", {"new": "short", "repeat": "short"}, 400, "new"),
        ("factor_missing", {"code": ""}, 400, "code"),
        ("wrong_current", {"current": "not the password", "code": "000000"}, 400, "current"),
        ("code_wrong", {"code": "000000"}, 400, "code"),
    ],
)
def test_a_mistake_changes_nothing(
    pocket: PocketEnv,
    locale: str,
    mistake: str,
    fields: dict[str, str],
    status: int,
    field: str,
) -> None:
    enroll(pocket, start(pocket))
    refused = change(pocket, locale, **fields)
    assert refused.status_code == status, refused.text
    found = re.search(r'<p class="error" role="alert" id="form-error">([^<]+)</p>', refused.text)
    assert found and TEXTS[locale][mistake] in found.group(1).replace("&#39;", "'")
    # the message is tied to the field it is about, and to no other
    invalid = re.findall(r'<input id="(\w+)"[^>]*aria-invalid="true"', refused.text)
    assert invalid == [field], invalid
    described = re.search(rf'<input id="{field}"[^>]*aria-describedby="([^"]+)"', refused.text)
    assert described and "form-error" in described.group(1).split()
    assert password_is(pocket, PASSWORD)
    assert pocket.client.get("/account").status_code == 200


@pytest.mark.parametrize("locale", ["en", "nl"])
def test_wrong_current_passwords_are_throttled_as_at_login(pocket: PocketEnv, locale: str) -> None:
    enrolled = enroll(pocket, start(pocket))
    for _ in range(3):
        assert change(pocket, locale, current="wrong guess", code="000000").status_code == 400
    pocket.clock.advance()
    locked = change(pocket, locale, code=pocket.code(enrolled.secret))
    assert locked.status_code == 429
    assert TEXTS[locale]["locked"] in locked.text
    assert password_is(pocket, PASSWORD)


def test_without_a_second_factor_the_current_password_is_enough(env: Env) -> None:
    env.add_user()
    env.add_client()  # a password is enough for this client
    login(env)
    page = env.client.get(PAGE)
    assert 'name="code"' not in page.text
    assert change(env).headers["location"] == f"{PAGE}?done=changed"
    assert password_is(env, NEW)


def test_the_page_asks_to_log_in_first_and_comes_back(env: Env) -> None:
    env.add_user()
    response = env.client.get(PAGE)
    assert response.status_code == 303
    assert query_of(response.headers["location"])["client_id"] == "account"
    response = env.client.get(response.headers["location"])
    response = submit_password(env, response.headers["location"])
    response = env.client.get(response.headers["location"])
    assert response.headers["location"] == PAGE
    assert "<h1>Change your password</h1>" in env.client.get(PAGE).text


@pytest.mark.parametrize("locale", ["en", "nl"])
def test_the_fraud_page_links_to_the_password_change(pocket: PocketEnv, locale: str) -> None:
    phone = paired_phone(pocket)
    location = start(pocket, ui_locales=locale)
    pocket.client.get(location)
    pocket.client.get(location)
    [challenge] = phone.challenges()
    phone.answer(challenge["id"], "deny", fraud=True)
    page = pocket.client.get(location)
    assert page.status_code == 403
    link = re.search(r'<a href="/account/password" id="change-password">([^<]+)</a>', page.text)
    assert link and link.group(1) == TEXTS[locale]["title"][4:-5]


def test_a_form_without_its_token_is_refused(pocket: PocketEnv) -> None:
    enrolled = enroll(pocket, start(pocket))
    data = {"current": PASSWORD, "new": NEW, "repeat": NEW, "code": enrolled.codes[0]}
    assert pocket.client.post(PAGE, data={**data, "csrf": "forged"}).status_code == 403
    assert form_post(pocket, PAGE, "", **data).status_code == 403
    assert password_is(pocket, PASSWORD)


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Env]:
    """The core alone, on each store backend."""
    extra = {}
    if request.param == "postgresql":
        extra["IDP_STORE_URL"] = request.getfixturevalue("postgres_url")
    settings = make_settings(tmp_path, **extra)
    app = create_app(settings)
    with TestClient(app, base_url=ISSUER, follow_redirects=False) as client:
        yield Env(app, client, settings)


def test_other_sessions_end_on_every_store(any_store: Env) -> None:
    env = any_store
    env.add_user()
    env.add_user("bob")
    env.add_client()
    login(env)
    elsewhere = dict(env.client.cookies)
    env.client.cookies.clear()
    login(env, "bob")
    bobs = dict(env.client.cookies)
    env.client.cookies.clear()
    login(env)
    assert has_session(env, elsewhere) and has_session(env, bobs)
    assert change(env).headers["location"] == f"{PAGE}?done=changed"
    assert not has_session(env, elsewhere)
    assert has_session(env, bobs)  # another user's session is not touched
    assert env.client.get("/account").status_code == 200
