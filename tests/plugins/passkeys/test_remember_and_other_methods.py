"""The passkey page where a user proves the second factor offers what every such page
does: "remember this browser" where the host offers it, and "use another method" for a
user with another enrolled method."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from idp.app import create_app
from idp.login.remembered_browsers import REMEMBER_COOKIE
from tests.conftest import (
    ISSUER,
    RP,
    Env,
    authorize,
    hidden_inputs,
    make_settings,
    submit_password,
)
from tests.login.mail_code import MailCodePlugin
from tests.plugins.passkeys.conftest import answer, enroll, new_authenticator, options_on, start


def passkeys_env(tmp_path: Path, enabled: str, **environ: str) -> Iterator[Env]:
    settings = make_settings(tmp_path, IDP_FACTORS_ENABLED=enabled, **environ)
    app = create_app(settings, plugins={"mailcode": MailCodePlugin("482913")})
    with TestClient(app, base_url=ISSUER, follow_redirects=False) as client:
        env = Env(app, client, settings)
        env.add_client(mfa="required")
        env.add_user()
        yield env


@pytest.fixture
def remembering(tmp_path: Path) -> Iterator[Env]:
    yield from passkeys_env(tmp_path, "passkeys", IDP_FACTORS_REMEMBER_DAYS="30")


def new_login(env: Env) -> str:
    env.client.cookies.delete(env.settings.session.cookie_name)
    return start(env)


def test_the_passkey_page_remembers_the_browser_when_ticked(remembering: Env) -> None:
    env = remembering
    authenticator = new_authenticator()
    assert enroll(env, authenticator).status_code == 303
    location = new_login(env)
    assert location.startswith("/factors/passkeys/login/"), location
    page = env.client.get(location)
    assert 'id="remember-browser"' in page.text and "30 days" in page.text
    assert 'id="other-methods"' not in page.text  # the user has no other method
    credential = json.dumps(authenticator.get(options_on(page.text)))
    done = answer(env, location, page.text, credential, remember_browser="1")
    assert done.status_code == 303 and done.headers["location"].startswith(RP)
    assert env.client.cookies.get(REMEMBER_COOKIE)

    # the next login on this browser skips the passkey
    env.client.cookies.delete(env.settings.session.cookie_name)
    skipped = submit_password(env, authorize(env).headers["location"])
    assert skipped.status_code == 303 and skipped.headers["location"].startswith(RP)


def test_a_user_with_another_method_may_use_it_instead(tmp_path: Path) -> None:
    for env in passkeys_env(tmp_path, "passkeys,mailcode"):
        authenticator = new_authenticator()
        # two plugins: the host's chooser first, where the user picks the passkey
        chooser = submit_password(env, authorize(env).headers["location"]).headers["location"]
        form = hidden_inputs(env.client.get(chooser).text)
        chosen = env.client.post(
            chooser, data={**form, "method": "passkeys:passkey", "action": "next"}
        )
        location = chosen.headers["location"]
        assert location.startswith("/factors/passkeys/enroll/"), location
        page = env.client.get(location)
        created = json.dumps(authenticator.create(options_on(page.text)))
        assert answer(env, location, page.text, created, name="Laptop").status_code == 303
        mail = env.provider.plugins["mailcode"]
        env.run(mail.enroll, env.store.find_user("alice"))
        location = new_login(env)
        page = env.client.get(location)
        assert 'id="remember-browser"' not in page.text  # not offered by default
        [link] = re.findall(r'href="([^"]+/methods)" id="other-methods"', page.text)
        others = env.client.get(link)
        assert others.status_code == 200 and 'value="mailcode:' in others.text
