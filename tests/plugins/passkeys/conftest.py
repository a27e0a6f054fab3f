"""A provider with the passkeys plugin on, a client that requires a second factor, a
user, a software authenticator, and helpers that walk the pages over HTTP."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from idp.app import create_app
from tests.conftest import (
    ISSUER,
    Env,
    authorize,
    hidden_inputs,
    make_settings,
    submit_password,
)
from tests.plugins.passkeys.authenticator import SoftAuthenticator


@pytest.fixture
def passkeys(tmp_path: Path) -> Iterator[Env]:
    settings = make_settings(tmp_path, IDP_FACTORS_ENABLED="passkeys")
    app = create_app(settings)
    with TestClient(app, base_url=ISSUER, follow_redirects=False) as client:
        env = Env(app, client, settings)
        env.add_client(mfa="required")
        env.add_user()
        yield env


def new_authenticator() -> SoftAuthenticator:
    return SoftAuthenticator(origin=ISSUER, rp_id="idp.test")


def start(env: Env) -> str:
    """Authorize and pass the password step; returns where the factor step begins."""
    response = authorize(env)
    assert response.status_code == 303, response.text
    response = submit_password(env, response.headers["location"])
    assert response.status_code == 303, response.text
    location: str = response.headers["location"]
    assert location.startswith("/factors/passkeys/"), location
    return location


def options_on(page_html: str) -> dict[str, Any]:
    found = re.search(r'data-options="([^"]+)"', page_html)
    assert found, page_html
    options: dict[str, Any] = json.loads(unescape(found.group(1)))
    return options


def answer(env: Env, url: str, page_html: str, credential: str, **fields: str) -> Any:
    """Post a ceremony page's form with the browser's answer."""
    data = {**hidden_inputs(page_html), "credential": credential, **fields}
    return env.client.post(url, data=data)


def enroll(env: Env, authenticator: SoftAuthenticator) -> Any:
    """A login that creates a passkey; the answer that ends the step."""
    location = start(env)
    assert location.startswith("/factors/passkeys/enroll/"), location
    page = env.client.get(location)
    assert page.status_code == 200, page.text
    created = authenticator.create(options_on(page.text))
    return answer(env, location, page.text, json.dumps(created), name="Laptop")
