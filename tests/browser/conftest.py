"""A live `idp serve --demo`, a user made through the CLI, and headless Chromium.

Chromium is Debian's (/usr/bin/chromium, installed by .ci/run); Playwright only drives
it and never downloads a browser of its own.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from tests.live import LiveServer, live_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PASSWORD = "tulpen in de lente"


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    # the password-only login of the README's walk-through: second-factor plugins stay
    # loaded, but no client demands one
    with live_server(
        tmp_path_factory.mktemp("idp-browser"),
        demo=True,
        settings={"IDP_FACTORS_REQUIRED": "false"},
    ) as server:
        server.add_user(
            "joost",
            PASSWORD,
            name="Joost de Boer",
            given_name="Joost",
            family_name="de Boer",
            email="joost@example.org",
            locale="nl-NL",
        )
        yield server


@pytest.fixture
def person(demo_server: LiveServer) -> dict[str, Any]:
    """The user made through the CLI, with the password they type."""
    return {**demo_server.users["joost"], "password": PASSWORD}


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        message = f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium"),
            headless=True,
            args=CHROMIUM_ARGS,
        )
        try:
            yield browser
        finally:
            browser.close()
