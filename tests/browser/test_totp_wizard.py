"""A person enrolls an authenticator app in headless Chromium: the QR code on the page is
read back with a QR decoder, its otpauth:// URI gives the codes, and a second login asks
for a fresh one."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest

from tests.browser.steps import amr_on, log_in_with_password, read_qr
from tests.live import LiveServer, live_server

pytestmark = pytest.mark.browser

PASSWORD = "drie kleine katjes"


@pytest.fixture(scope="module")
def totp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """`idp serve --demo` with the Pocket plugin on and a second factor required."""
    settings = {"IDP_FACTORS_ENABLED": "pocket", "IDP_FACTORS_REQUIRED": "true"}
    folder = tmp_path_factory.mktemp("idp-totp")
    with live_server(folder, demo=True, settings=settings) as server:
        server.add_user("sanne", PASSWORD, name="Sanne Visser", email="sanne@example.org")
        server.add_user("pieter", PASSWORD, name="Pieter Bakker", email="pieter@example.org")
        yield server


def test_enroll_an_authenticator_app_and_log_in_again(
    totp_server: LiveServer, chromium: Any, tmp_path: Path
) -> None:
    server = totp_server
    context = chromium.new_context(locale="en-GB")
    try:
        page = context.new_page()
        log_in_with_password(page, server, "sanne", PASSWORD)

        # step 2: choose the method; Pocket push is preselected, this person takes the app
        page.wait_for_url(f"{server.url}/login/*/methods")
        assert page.locator("h1").inner_text() == "Two-factor authentication"
        assert page.locator("input[value='pocket:push']").is_checked()
        page.check("input[value='pocket:totp']")
        page.click("button[value=next]")

        # step 3: the QR code, read from what the browser drew
        page.wait_for_url(f"{server.url}/factors/pocket/enroll/*/app")
        qr = page.locator("#totp-qr svg")
        assert qr.is_visible()
        page.screenshot(path=str(tmp_path / "totp-setup.png"), full_page=True)
        uri = read_qr(qr.screenshot())
        assert uri.startswith("otpauth://totp/Pocket%20IdP:sanne?")
        totp = pyotp.parse_uri(uri)
        assert isinstance(totp, pyotp.TOTP)
        assert (totp.issuer, totp.name, totp.digits, totp.interval) == (
            "Pocket IdP",
            "sanne",
            6,
            30,
        )
        typed = page.locator("#totp-secret").inner_text().replace(" ", "")
        assert typed == totp.secret
        page.fill("#code", totp.now())
        page.click("button[value=next]")

        # step 4: done, with recovery codes, and back to the application
        page.wait_for_url(f"{server.url}/factors/pocket/enroll/*/done")
        assert page.locator("h1").inner_text() == "Done!"
        assert page.locator("#recovery-codes li").count() == 10
        page.get_by_role("button", name="Continue to Pocket IdP demo").click()
        page.wait_for_url(f"{server.url}/demo/callback?**")
        assert amr_on(page) == ["pwd", "otp", "mfa"]

        # log out, then in again: the second factor now asks for a fresh code; the
        # next step's code is one the skew window accepts, so there is no waiting
        page.get_by_role("link", name="Log out").click()
        page.wait_for_url(f"{server.url}/demo?state=demo")
        log_in_with_password(page, server, "sanne", PASSWORD)
        page.wait_for_url(f"{server.url}/factors/pocket/verify/*")
        assert page.locator("h1").inner_text() == "Confirmation code"
        page.fill("#code", totp.at(time.time() + totp.interval))
        page.click("button[value=next]")
        page.wait_for_url(f"{server.url}/demo/callback?**")
        assert amr_on(page) == ["pwd", "otp", "mfa"]

        # what an admin sees and does with the `idp` command
        shown = json.loads(server.idp("users", "show", "sanne"))
        kinds = [(m["plugin"], m["kind"]) for m in shown["second_factors"]]
        assert kinds == [("pocket", "totp"), ("pocket", "recovery codes")]
        assert "removed 11" in server.idp("users", "reset-mfa", "sanne")
        assert json.loads(server.idp("users", "show", "sanne"))["second_factors"] == []
    finally:
        context.close()


def test_internet_explorer_is_told_to_use_another_browser(
    totp_server: LiveServer, chromium: Any
) -> None:
    server = totp_server
    ie11 = "Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko"
    context = chromium.new_context(locale="nl-NL", user_agent=ie11)
    try:
        page = context.new_page()
        log_in_with_password(page, server, "pieter", PASSWORD)
        page.wait_for_url(f"{server.url}/login/*/methods")
        assert page.locator("h1").inner_text() == "Twee-factorauthenticatie"
        # Pocket leads to another browser
        page.check("input[value='pocket:push']")
        page.click("button[value=next]")
        assert page.locator("h1").inner_text() == "Gebruik een ondersteunde browser"
        assert page.locator("svg").count() == 0
        restart = page.locator("#restart-url").input_value()
        assert restart.startswith(f"{server.url}/authorize?")
        page.get_by_role("link", name="Vorige").click()
        assert page.locator("h1").inner_text() == "Twee-factorauthenticatie"
        page.check("input[value='pocket:push']")
        page.click("button[value=next]")
        page.get_by_role("button", name="Stoppen").click()
        page.wait_for_url(f"{server.url}/demo/callback?**")
        assert "access_denied" in page.content()
    finally:
        context.close()
