"""The Pocket pages in a browser without JavaScript: they cannot move on by themselves, so
they do not say they will; they say which button goes on, and that button does. With
JavaScript the page says it moves on by itself, and does (test_pocket_push.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.steps import amr_on, log_in_with_password, read_qr
from tests.browser.test_pocket_push import TIMEOUT_MS, pocket
from tests.live import LiveServer, live_server

pytestmark = pytest.mark.browser

PASSWORD = "vijf vette varkens"


@pytest.fixture(scope="module")
def pocket_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = {"IDP_FACTORS_ENABLED": "pocket", "IDP_FACTORS_REQUIRED": "true"}
    with live_server(tmp_path_factory.mktemp("idp-nojs"), demo=True, settings=settings) as server:
        server.add_user("noor", PASSWORD, name="Noor de Wit")
        server.add_user("finn", PASSWORD, name="Finn Mulder")
        yield server


def to_the_pairing_page(page: Any, server: LiveServer, username: str) -> None:
    log_in_with_password(page, server, username, PASSWORD)
    page.wait_for_url(f"{server.url}/login/*/methods")
    page.click("button[value=next]")
    page.wait_for_url(f"{server.url}/factors/pocket/enroll/*/install")
    page.click("button[value=next]")
    page.wait_for_url(f"{server.url}/factors/pocket/enroll/*/pair")


def test_without_javascript_the_pages_say_which_button_goes_on(
    pocket_server: LiveServer, chromium: Any, tmp_path: Path
) -> None:
    server = pocket_server
    phone = tmp_path / "phone.json"
    context = chromium.new_context(locale="en-GB", java_script_enabled=False)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        to_the_pairing_page(page, server, "noor")
        assert not page.get_by_text("moves on by itself").is_visible()
        hint = page.locator("#pairing-status-no-js")
        assert hint.inner_text() == (
            'Waiting for your phone. Once the code is scanned, press "I have scanned the code".'
        )
        shot = tmp_path / "qr.png"
        shot.write_bytes(page.locator("#pairing-qr svg").screenshot())
        pocket(phone, "pair", read_qr(shot.read_bytes()), "--name", "Phone")
        page.get_by_role("button", name="I have scanned the code").click()
        page.wait_for_url(f"{server.url}/factors/pocket/enroll/*/done")
        page.click("button[value=next]")
        page.wait_for_url(f"{server.url}/demo/callback?**")
        page.locator("a[href^='/logout?']").click()
        page.wait_for_url(f"{server.url}/demo?state=demo")

        log_in_with_password(page, server, "noor", PASSWORD)
        page.wait_for_url(f"{server.url}/factors/pocket/push/*")
        assert not page.get_by_text("moves on by itself").is_visible()
        hint = page.locator("#push-waiting-no-js")
        assert hint.inner_text() == (
            "Waiting for your answer in Pocket. "
            'Once you have approved it, press "I have approved it".'
        )
        number = page.locator("#push-number").inner_text()
        pocket(phone, "approve", "--number", number)
        page.get_by_role("button", name="I have approved it").click()
        page.wait_for_url(f"{server.url}/demo/callback?**")
        assert amr_on(page) == ["pwd", "swk", "mfa"]
    finally:
        context.close()


def test_with_javascript_the_page_says_it_moves_on_by_itself(
    pocket_server: LiveServer, chromium: Any
) -> None:
    context = chromium.new_context(locale="nl-NL")
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        to_the_pairing_page(page, pocket_server, "finn")
        status = page.locator("#pairing-status")
        status.wait_for()  # shown by the script once it waits
        assert "Deze pagina gaat vanzelf verder" in status.inner_text()
        assert not page.locator("#pairing-status-no-js").is_visible()
    finally:
        context.close()
