"""A person ticks "Remember this browser" on the code page in headless Chromium; the next
login in that browser skips the second factor, and the ID token says only the password
was used."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pyotp
import pytest

from tests.browser.steps import amr_on, log_in_with_password, read_qr
from tests.live import LiveServer, live_server

pytestmark = pytest.mark.browser

PASSWORD = "drie kleine katjes"


@pytest.fixture(scope="module")
def remembering_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """`idp serve --demo` with the Pocket plugin on and browsers remembered for 30 days."""
    settings = {"IDP_FACTORS_ENABLED": "pocket", "IDP_FACTORS_REMEMBER_DAYS": "30"}
    folder = tmp_path_factory.mktemp("idp-remember")
    with live_server(folder, demo=True, settings=settings) as server:
        server.add_user("sanne", PASSWORD, name="Sanne Visser", email="sanne@example.org")
        yield server


def test_a_remembered_browser_skips_the_second_factor(
    remembering_server: LiveServer, chromium: Any
) -> None:
    server = remembering_server
    context = chromium.new_context(locale="en-GB")
    try:
        page = context.new_page()
        # enroll an authenticator app
        log_in_with_password(page, server, "sanne", PASSWORD)
        page.wait_for_url(f"{server.url}/login/*/methods")
        page.check("input[value='pocket:totp']")
        page.click("button[value=next]")
        page.wait_for_url(f"{server.url}/factors/pocket/enroll/*/app")
        totp = pyotp.parse_uri(read_qr(page.locator("#totp-qr svg").screenshot()))
        assert isinstance(totp, pyotp.TOTP)
        page.fill("#code", totp.now())
        page.click("button[value=next]")
        page.wait_for_url(f"{server.url}/factors/pocket/enroll/*/done")
        page.get_by_role("button", name="Continue to Pocket IdP demo").click()
        page.wait_for_url(f"{server.url}/demo/callback?**")

        # log in again: the code page offers to remember the browser; tick it
        page.get_by_role("link", name="Log out").click()
        page.wait_for_url(f"{server.url}/demo?state=demo")
        log_in_with_password(page, server, "sanne", PASSWORD)
        page.wait_for_url(f"{server.url}/factors/pocket/verify/*")
        page.get_by_label("Remember this browser for 30 days").check()
        page.fill("#code", totp.at(time.time() + totp.interval))
        page.click("button[value=next]")
        page.wait_for_url(f"{server.url}/demo/callback?**")
        assert amr_on(page) == ["pwd", "otp", "mfa"]

        # and once more: the password alone, in this browser
        page.get_by_role("link", name="Log out").click()
        page.wait_for_url(f"{server.url}/demo?state=demo")
        log_in_with_password(page, server, "sanne", PASSWORD)
        page.wait_for_url(f"{server.url}/demo/callback?**")
        assert amr_on(page) == ["pwd"]
    finally:
        context.close()
