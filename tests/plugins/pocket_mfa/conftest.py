"""A provider with the Pocket plugin on, a client that requires a second factor, a user,
and helpers that walk a browser-like client through the wizard.

The plugin's methods are coroutines: a test runs them to their end with `Env.run`."""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from typing import Any

import pyotp
import pytest
from starlette.testclient import TestClient

from idp.app import create_app
from plugins.pocket_mfa.plugin import PocketFactor
from plugins.pocket_mfa.push.protocol import parse_pairing_uri
from tests.conftest import (
    ISSUER,
    RP,
    Env,
    authorize,
    exchange,
    hidden_inputs,
    make_settings,
    query_of,
    submit_password,
)
from tests.plugins.pocket_mfa.push.conftest import Phone

#: a fixed start time for the plugin's code checks, on a 30-second step boundary + 5 s
T0 = 1_800_000_005.0


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float = 30) -> None:
        self.now += seconds


@dataclass
class PocketEnv(Env):
    clock: Clock

    @property
    def plugin(self) -> PocketFactor:
        plugin = self.provider.plugins["pocket"]
        assert isinstance(plugin, PocketFactor)
        return plugin

    def code(self, secret: str, offset: int = 0) -> str:
        """The app's code at the plugin's clock, `offset` steps away."""
        return pyotp.TOTP(secret).at(self.clock.now + 30 * offset)

    def audit(self) -> list[dict[str, Any]]:
        """The provider's audit trail, oldest first."""
        events: list[dict[str, Any]] = self.run(self.provider.audit.events)
        return events


def pocket_settings(tmp_path: Path, **env: str) -> Any:
    return make_settings(tmp_path, IDP_FACTORS_ENABLED="pocket", **env)


@pytest.fixture
def pocket(tmp_path: Path) -> Iterator[PocketEnv]:
    settings = pocket_settings(tmp_path)
    app = create_app(settings)
    with TestClient(app, base_url=ISSUER, follow_redirects=False) as client:
        env = PocketEnv(app, client, settings, Clock())
        env.plugin.services.checker.clock = env.clock
        env.add_client(mfa="required")
        env.add_user()
        yield env


# --- walking the pages
def start(env: Env, **params: str) -> str:
    """Authorize and pass the password step; returns where the factor step begins."""
    response = authorize(env, **params)
    assert response.status_code == 303, response.text
    response = submit_password(env, response.headers["location"])
    assert response.status_code == 303, response.text
    location: str = response.headers["location"]
    # the host's method chooser for a user with no factor yet, else a Pocket page
    assert location.startswith("/factors/pocket/") or location.endswith("/methods"), location
    return location


def wizard_url(location: str) -> str:
    """The Pocket wizard's address for the login whose method chooser is `location`."""
    login_id = location.removeprefix("/login/").removesuffix("/methods")
    return f"/factors/pocket/enroll/{login_id}"


def form_post(env: Env, url: str, page_html: str, **fields: str) -> Any:
    return env.client.post(url, data={**hidden_inputs(page_html), **fields})


def secret_on(page_html: str) -> str:
    found = re.search(r'<code class="secret" id="totp-secret">([^<]+)</code>', page_html)
    assert found, page_html
    return found.group(1).replace(" ", "")


def codes_on(page_html: str) -> list[str]:
    return [unescape(c) for c in re.findall(r"<li><code>([^<]+)</code></li>", page_html)]


def finish_on_done_page(env: Env, done_url: str) -> tuple[list[str], dict[str, str]]:
    """Read the recovery codes off the done page and go on to the relying party."""
    done = env.client.get(done_url)
    assert done.status_code == 200, done.text
    codes = codes_on(done.text)
    response = form_post(env, done_url, done.text, action="next")
    assert response.status_code == 303, response.text
    assert response.headers["location"].startswith(RP), response.headers["location"]
    return codes, query_of(response.headers["location"])


@dataclass
class Enrolled:
    secret: str
    codes: list[str]
    rp_query: dict[str, str]


def enroll(env: PocketEnv, location: str) -> Enrolled:
    """From the first wizard page to the relying party, with the authenticator app."""
    choose = env.client.get(location)
    assert choose.status_code == 200, choose.text
    response = form_post(env, location, choose.text, method="pocket:totp", action="next")
    assert response.status_code == 303, response.text
    app_url = response.headers["location"]
    app_page = env.client.get(app_url)
    assert app_page.status_code == 200, app_page.text
    secret = secret_on(app_page.text)
    response = form_post(env, app_url, app_page.text, code=env.code(secret), action="next")
    assert response.status_code == 303, response.text
    codes, result = finish_on_done_page(env, response.headers["location"])
    return Enrolled(secret, codes, result)


def verify(env: PocketEnv, location: str, code: str) -> Any:
    page = env.client.get(location)
    assert page.status_code == 200, page.text
    return form_post(env, location, page.text, code=code, action="next")


def id_token_claims(env: Env, code: str) -> dict[str, Any]:
    response = exchange(env, code)
    assert response.status_code == 200, response.text
    payload = response.json()["id_token"].split(".")[1]
    claims: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return claims


# --- Pocket push: a phone made in the test, signing like the reference client
def pairing_uri_on(page_html: str) -> str:
    found = re.search(r'<a href="(pocket://pair\?[^"]+)" id="pairing-link">', page_html)
    assert found, page_html
    return unescape(found.group(1))


def wait_url_on(page_html: str) -> str:
    found = re.search(r'data-pocket-wait="([^"]+)"', page_html)
    assert found, page_html
    return unescape(found.group(1))


def new_phone(env: PocketEnv) -> Phone:
    return Phone(env.client, time.time)


def paired_phone(env: PocketEnv, username: str = "alice", name: str = "Pixel 8") -> Phone:
    """A phone paired through the device API with a code made for the user."""
    user = env.store.find_user(username)
    token, _ = env.run(env.plugin.services.push.pairing.create_pairing, user.sub)
    phone = new_phone(env)
    response = phone.pair(token, name)
    assert response.status_code == 201, response.text
    return phone


@dataclass
class EnrolledPush:
    phone: Phone
    codes: list[str]
    rp_query: dict[str, str]


def enroll_push(env: PocketEnv, location: str, name: str = "Pixel 8") -> EnrolledPush:
    """From the first wizard page to the relying party, pairing a phone by the QR page."""
    choose = env.client.get(location)
    response = form_post(env, location, choose.text, method="pocket:push", action="next")
    assert response.status_code == 303, response.text
    install_url = response.headers["location"]
    install = env.client.get(install_url)
    assert install.status_code == 200, install.text
    response = form_post(env, install_url, install.text, action="next")
    assert response.status_code == 303, response.text
    pair_url = response.headers["location"]
    page = env.client.get(pair_url)
    assert page.status_code == 200, page.text
    _, token = parse_pairing_uri(pairing_uri_on(page.text))
    phone = new_phone(env)
    assert phone.pair(token, name).status_code == 201
    response = env.client.get(pair_url)
    assert response.status_code == 303, response.text
    codes, result = finish_on_done_page(env, response.headers["location"])
    return EnrolledPush(phone, codes, result)
