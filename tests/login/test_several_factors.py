"""Several second-factor plugins side by side: the host's method chooser lists every
plugin's methods in the configured order, and a user enrolled with several begins with
the first and may switch to another ("use another method")."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from starlette.testclient import TestClient

from idp.app import create_app
from plugins.pocket_mfa.plugin import PocketFactor
from tests.conftest import ISSUER, RP, Env, authorize, hidden_inputs, make_settings, submit_password
from tests.login.mail_code import MailCodePlugin

MAIL_CODE = "731904"
SECRET = pyotp.random_base32()


def several(tmp_path: Path, enabled: str, *, mail_recommended: bool = False) -> Iterator[Env]:
    settings = make_settings(tmp_path, IDP_FACTORS_ENABLED=enabled)
    mail = MailCodePlugin(MAIL_CODE, recommended=mail_recommended)
    app = create_app(settings, plugins={"mailcode": mail})
    with TestClient(app, base_url=ISSUER, follow_redirects=False) as client:
        env = Env(app, client, settings)
        env.add_client(mfa="required")
        env.add_user()
        yield env


@pytest.fixture
def pocket_first(tmp_path: Path) -> Iterator[Env]:
    yield from several(tmp_path, "pocket,mailcode")


def plugins_of(env: Env) -> tuple[PocketFactor, MailCodePlugin]:
    pocket, mail = env.provider.plugins["pocket"], env.provider.plugins["mailcode"]
    assert isinstance(pocket, PocketFactor) and isinstance(mail, MailCodePlugin)
    return pocket, mail


def factor_step(env: Env) -> str:
    """Authorize and pass the password; where the second-factor step begins."""
    response = submit_password(env, authorize(env).headers["location"])
    assert response.status_code == 303, response.text
    location: str = response.headers["location"]
    return location


def offered(page_html: str) -> list[str]:
    return re.findall(r'<input type="radio" name="method" value="([^"]+)"', page_html)


def preselected(page_html: str) -> list[str]:
    return re.findall(r'<input type="radio" name="method" value="([^"]+)" checked>', page_html)


def choose(env: Env, chooser: str, method: str) -> Any:
    page = env.client.get(chooser)
    assert page.status_code == 200, page.text
    return env.client.post(
        chooser, data={**hidden_inputs(page.text), "method": method, "action": "next"}
    )


def enroll_both(env: Env) -> None:
    pocket, mail = plugins_of(env)
    user = env.store.find_user("alice")
    env.run(pocket.services.enrollments.save_totp, user.sub, SECRET)
    env.run(mail.enroll, user)


def pass_mail_code(env: Env, url: str) -> Any:
    assert url.startswith("/factors/mailcode/"), url
    assert env.client.get(url).status_code == 200
    return env.client.post(url, data={"code": MAIL_CODE})


@pytest.mark.parametrize(
    ("enabled", "mail_recommended", "order", "checked"),
    [
        ("pocket,mailcode", False, ["pocket:push", "pocket:totp", "mailcode:email"], "pocket:push"),
        ("mailcode,pocket", False, ["mailcode:email", "pocket:push", "pocket:totp"], "pocket:push"),
        (
            "mailcode,pocket",
            True,
            ["mailcode:email", "pocket:push", "pocket:totp"],
            "mailcode:email",
        ),
        ("pocket,mailcode", True, ["pocket:push", "pocket:totp", "mailcode:email"], "pocket:push"),
    ],
)
def test_the_chooser_lists_every_plugins_methods_in_the_configured_order(
    tmp_path: Path, enabled: str, mail_recommended: bool, order: list[str], checked: str
) -> None:
    for env in several(tmp_path, enabled, mail_recommended=mail_recommended):
        chooser = factor_step(env)
        assert chooser.startswith("/login/") and chooser.endswith("/methods"), chooser
        page = env.client.get(chooser)
        assert page.status_code == 200, page.text
        assert offered(page.text) == order
        assert preselected(page.text) == [checked]


def test_choosing_the_other_plugins_method_enrolls_with_it(pocket_first: Env) -> None:
    env = pocket_first
    response = choose(env, factor_step(env), "mailcode:email")
    assert response.status_code == 303, response.text
    finished = pass_mail_code(env, response.headers["location"])
    assert finished.status_code == 303 and finished.headers["location"].startswith(RP)
    pocket, mail = plugins_of(env)
    user = env.store.find_user("alice")
    assert env.run(mail.is_enrolled, user)
    assert not env.run(pocket.is_enrolled, user)


def test_a_method_that_is_not_offered_is_refused_on_the_chooser(pocket_first: Env) -> None:
    response = choose(pocket_first, factor_step(pocket_first), "mailcode:sms")
    assert response.status_code == 400
    assert "Please choose a method." in response.text


@pytest.mark.parametrize(
    ("enabled", "first"),
    [("pocket,mailcode", "/factors/pocket/verify/"), ("mailcode,pocket", "/factors/mailcode/")],
)
def test_a_user_with_both_begins_with_the_first_and_may_use_the_other(
    tmp_path: Path, enabled: str, first: str
) -> None:
    for env in several(tmp_path, enabled):
        enroll_both(env)
        location = factor_step(env)
        assert location.startswith(first), location
        page = env.client.get(location)
        link = re.search(r'<a href="([^"]+)" id="other-methods">', page.text)
        assert link, page.text
        others = env.client.get(link.group(1))
        assert others.status_code == 200, others.text
        if first == "/factors/pocket/verify/":
            assert offered(others.text) == ["mailcode:email"]
            response = choose(env, link.group(1), "mailcode:email")
            finished = pass_mail_code(env, response.headers["location"])
        else:
            assert offered(others.text) == ["pocket:totp"]
            response = choose(env, link.group(1), "pocket:totp")
            verify = response.headers["location"]
            assert verify.startswith("/factors/pocket/verify/"), verify
            form = env.client.get(verify)
            code = pyotp.TOTP(SECRET).now()
            fields = {**hidden_inputs(form.text), "code": code, "action": "next"}
            finished = env.client.post(verify, data=fields)
        assert finished.status_code == 303 and finished.headers["location"].startswith(RP)


def test_a_user_with_one_method_sees_no_link_to_others(pocket_first: Env) -> None:
    env = pocket_first
    pocket, _ = plugins_of(env)
    user = env.store.find_user("alice")
    env.run(pocket.services.enrollments.save_totp, user.sub, SECRET)
    location = factor_step(env)
    assert location.startswith("/factors/pocket/verify/"), location
    page = env.client.get(location)
    assert page.status_code == 200 and 'id="use-push"' not in page.text
    assert 'id="other-methods"' not in page.text
