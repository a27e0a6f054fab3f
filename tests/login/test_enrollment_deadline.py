"""Enrollment deadlines: "Set up later" on the method chooser for users who existed
when the setting took effect, counting down logins and ending at the date; never for new
users, for a client whose policy forbids it, or when the relying party asks for a second
factor itself."""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from idp.app import create_app
from idp.errors import ConfigError
from idp.login.acr import ACR_MFA, ACR_PASSWORD
from idp.login.enrollment_deadline import COUNT_MODEL
from idp.store.short_lived import is_short_lived
from tests.conftest import (
    ISSUER,
    RP,
    Env,
    authorize,
    hidden_inputs,
    query_of,
    submit_password,
)
from tests.plugins.pocket_mfa.conftest import Clock, PocketEnv, id_token_claims, pocket_settings
from tests.plugins.pocket_mfa.conftest import start as start_login

TODAY = datetime.datetime.now(datetime.UTC).date()
LATER_BUTTON = re.compile(r'<form method="post" action="(/login/[^"]+/later)">.*?</form>', re.S)


def deadline_env(tmp_path: Path, **env: str) -> Iterator[PocketEnv]:
    settings = pocket_settings(tmp_path, **env)
    app = create_app(settings)
    with TestClient(app, base_url=ISSUER, follow_redirects=False) as client:
        pocket = PocketEnv(app, client, settings, Clock())
        pocket.add_client(mfa="required")
        pocket.add_client("admin-app", mfa="required", postpone_enrollment=False)
        pocket.add_client("relaxed", mfa="optional")
        existing(pocket, "alice")
        yield pocket


def existing(env: Env, username: str) -> None:
    """A user made before the server started with the setting."""
    user = env.add_user(username)
    env.store.update_user(replace(user, created_at=user.created_at - 86400))


@pytest.fixture
def pocket(tmp_path: Path) -> Iterator[PocketEnv]:
    by = (TODAY + datetime.timedelta(days=10)).isoformat()
    yield from deadline_env(
        tmp_path, IDP_FACTORS_ENROLL_BY=by, IDP_FACTORS_ENROLL_WITHIN_LOGINS="2"
    )


def first_page(env: PocketEnv, **params: str) -> Any:
    """The method chooser after the password; the SSO session of an earlier login
    is gone first."""
    env.client.cookies.delete(env.settings.session.cookie_name)
    location = start_login(env, **params)
    assert location.endswith("/methods"), location  # the host's method chooser
    page = env.client.get(location)
    assert page.status_code == 200, page.text
    return page


def set_up_later(env: PocketEnv, page_html: str) -> Any:
    [(url, form)] = [(m.group(1), m.group(0)) for m in LATER_BUTTON.finditer(page_html)]
    return env.client.post(url, data=hidden_inputs(form))


def test_an_existing_user_postpones_for_the_logins_left(pocket: PocketEnv) -> None:
    last_day = (TODAY + datetime.timedelta(days=9)).isoformat()
    page = first_page(pocket)
    assert f"Set up later (2 logins left, until {last_day})" in page.text
    later = set_up_later(pocket, page.text)
    assert later.status_code == 303 and later.headers["location"].startswith(RP)
    claims = id_token_claims(pocket, query_of(later.headers["location"])["code"])
    assert claims["amr"] == ["pwd"] and claims["acr"] == ACR_PASSWORD
    page = first_page(pocket)
    assert f"Set up later (1 login left, until {last_day})" in page.text
    assert set_up_later(pocket, page.text).headers["location"].startswith(RP)
    # the logins are used up: the second factor is mandatory again
    page = first_page(pocket)
    assert "Set up later" not in page.text
    sub = pocket.store.find_user("alice").sub
    assert pocket.store.find(COUNT_MODEL, sub)["count"] == 2
    assert not is_short_lived(COUNT_MODEL)
    postponed = [
        e for e in pocket.run(pocket.provider.audit.events) if e["event"] == "enrollment_postponed"
    ]
    assert [(e["sub"], e["client"]) for e in postponed] == [(sub, "rp")] * 2


def test_a_postponement_asked_for_without_one_left_goes_to_the_enrollment(
    pocket: PocketEnv,
) -> None:
    for _ in range(2):
        set_up_later(pocket, first_page(pocket).text)
    pocket.client.cookies.delete(pocket.settings.session.cookie_name)
    location = start_login(pocket)
    page = pocket.client.get(location)
    login_id = location.split("/")[2]  # /login/<id>/methods
    refused = pocket.client.post(f"/login/{login_id}/later", data=hidden_inputs(page.text))
    # on to the enrollment: the method chooser, now without the button
    assert refused.status_code == 303 and refused.headers["location"] == location
    assert "Set up later" not in pocket.client.get(location).text


def test_dutch_button(pocket: PocketEnv) -> None:
    pocket.client.headers["accept-language"] = "nl"
    last_day = (TODAY + datetime.timedelta(days=9)).isoformat()
    page = first_page(pocket)
    assert f"Later instellen (nog 2 keer inloggen, tot {last_day})" in page.text


def test_a_form_without_its_token_is_refused(pocket: PocketEnv) -> None:
    page = first_page(pocket)
    [url] = LATER_BUTTON.findall(page.text)
    assert pocket.client.post(url, data={"csrf": "forged"}).status_code == 403


def test_new_users_get_no_postponement(pocket: PocketEnv) -> None:
    pocket.add_user("newcomer")  # created after the setting took effect
    location = authorize(pocket).headers["location"]
    response = submit_password(pocket, location, username="newcomer")
    assert response.headers["location"].endswith("/methods")  # the chooser
    assert "Set up later" not in pocket.client.get(response.headers["location"]).text


def test_a_client_that_requires_enrollment_offers_no_postponement(pocket: PocketEnv) -> None:
    page = first_page(pocket, client_id="admin-app")
    assert "Set up later" not in page.text


def test_a_relying_party_asking_for_a_second_factor_gets_no_postponement(
    pocket: PocketEnv,
) -> None:
    page = first_page(pocket, client_id="relaxed", acr_values=ACR_MFA)
    assert "Set up later" not in page.text


def test_a_date_alone_says_until_when(tmp_path: Path) -> None:
    by = (TODAY + datetime.timedelta(days=3)).isoformat()
    for pocket in deadline_env(tmp_path, IDP_FACTORS_ENROLL_BY=by):
        last_day = (TODAY + datetime.timedelta(days=2)).isoformat()
        page = first_page(pocket)
        assert f"Set up later (until {last_day})" in page.text
        assert set_up_later(pocket, page.text).headers["location"].startswith(RP)


def test_after_the_date_the_factor_is_mandatory_again(tmp_path: Path) -> None:
    for pocket in deadline_env(tmp_path, IDP_FACTORS_ENROLL_BY=TODAY.isoformat()):
        assert "Set up later" not in first_page(pocket).text


def test_without_a_deadline_there_is_no_button(tmp_path: Path) -> None:
    for pocket in deadline_env(tmp_path):
        assert "Set up later" not in first_page(pocket).text


@pytest.mark.parametrize(
    ("key", "value"),
    [("IDP_FACTORS_ENROLL_BY", "1 March"), ("IDP_FACTORS_ENROLL_WITHIN_LOGINS", "-1")],
)
def test_a_wrong_setting_stops_start_up_naming_it(tmp_path: Path, key: str, value: str) -> None:
    with pytest.raises(ConfigError, match=key.removeprefix("IDP_FACTORS_").lower()):
        pocket_settings(tmp_path, **{key: value})
