"""Passkeys in headless Chromium, with its virtual authenticator (DevTools' WebAuthn
domain): created in the login wizard, used as the second factor and alone in place of
the password, removed on the manage page, and refused when its counter goes backwards.

WebAuthn refuses an IP address as the RP ID: the IdP is served as http://localhost."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.steps import amr_on
from tests.live import LiveServer
from tests.servers.idp_nodes import IdpNode, idp_environ
from tests.servers.processes import free_port

pytestmark = pytest.mark.browser

PASSWORD = "zeven zoete zeekoeien"
ACR_MFA = "urn:pocket-idp:acr:mfa"


@pytest.fixture(scope="module")
def passkey_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """`idp serve --demo` at http://localhost:PORT, passkeys the one second factor."""
    folder = tmp_path_factory.mktemp("idp-passkeys")
    port = free_port()
    settings = {"IDP_FACTORS_ENABLED": "passkeys", "IDP_FACTORS_REQUIRED": "true"}
    node = IdpNode(
        "server",
        folder,
        idp_environ(folder, settings),
        issuer=f"http://localhost:{port}",
        demo=True,
        port=port,
    )
    node.start()
    try:
        server = LiveServer(node)
        server.add_user("anna", PASSWORD, name="Anna de Vries")
        server.add_user("bram", PASSWORD, name="Bram Smit")
        server.add_user("dirk", PASSWORD, name="Dirk Jansen")
        yield server
    finally:
        node.stop()


class Browser:
    """A page of its own context, with a virtual platform authenticator that keeps
    discoverable credentials and verifies its user."""

    def __init__(self, chromium: Any, server: LiveServer, locale: str = "en-GB") -> None:
        self.server = server
        self.context = chromium.new_context(locale=locale)
        self.page = self.context.new_page()
        self.cdp = self.context.new_cdp_session(self.page)
        self.cdp.send("WebAuthn.enable")
        options = {
            "protocol": "ctap2",
            "transport": "internal",
            "hasResidentKey": True,
            "hasUserVerification": True,
            "isUserVerified": True,
            "automaticPresenceSimulation": True,
        }
        found = self.cdp.send("WebAuthn.addVirtualAuthenticator", {"options": options})
        self.authenticator: str = found["authenticatorId"]

    def credentials(self) -> list[dict[str, Any]]:
        found = self.cdp.send("WebAuthn.getCredentials", {"authenticatorId": self.authenticator})
        credentials: list[dict[str, Any]] = found["credentials"]
        return credentials

    def set_sign_count(self, count: int) -> None:
        """Put the authenticator's credential back with a lower counter (as a clone)."""
        (credential,) = self.credentials()
        ids = {"authenticatorId": self.authenticator}
        self.cdp.send(
            "WebAuthn.removeCredential", {**ids, "credentialId": credential["credentialId"]}
        )
        self.cdp.send(
            "WebAuthn.addCredential", {**ids, "credential": {**credential, "signCount": count}}
        )

    def presence(self, enabled: bool) -> None:
        """Whether the authenticator answers at once, as if touched. While it does not,
        the login page's conditional request (autofill) waits, unanswered."""
        self.cdp.send(
            "WebAuthn.setAutomaticPresenceSimulation",
            {"authenticatorId": self.authenticator, "enabled": enabled},
        )

    def start_login(self) -> None:
        """A new login at the demo, without the SSO session of an earlier one; the
        authenticator stays untouched until `presence(True)`."""
        self.presence(False)
        self.context.clear_cookies()
        self.page.goto(f"{self.server.issuer}/demo")
        self.page.locator("#demo-login").click()
        self.page.wait_for_url(f"{self.server.issuer}/login/**")

    def log_in_with_password(self, username: str) -> None:
        self.start_login()
        self.page.fill("#username", username)
        self.page.fill("#password", PASSWORD)
        self.page.click("button[value=login]")
        self.page.wait_for_url(f"{self.server.issuer}/factors/**")
        self.presence(True)

    def at_demo(self) -> dict[str, Any]:
        self.page.wait_for_url(f"{self.server.issuer}/demo/callback?**")
        claims: dict[str, Any] = json.loads(self.page.locator("#id-token-claims").inner_text())
        return claims

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def browser(chromium: Any, passkey_server: LiveServer) -> Iterator[Browser]:
    opened = Browser(chromium, passkey_server)
    try:
        yield opened
    finally:
        opened.close()


def enroll(browser: Browser, username: str, name: str) -> dict[str, Any]:
    """Password, then the wizard's passkey page: the ID token's claims."""
    page = browser.page
    browser.log_in_with_password(username)
    page.wait_for_url(f"{browser.server.issuer}/factors/passkeys/enroll/*")
    assert page.locator("h1").inner_text() == "Create a passkey"
    page.fill("#name", name)
    page.click("#passkey-button")
    return browser.at_demo()


def test_enroll_then_log_in_with_the_passkey_as_second_factor_and_alone(
    browser: Browser,
) -> None:
    page, issuer = browser.page, browser.server.issuer
    claims = enroll(browser, "anna", "Laptop")
    assert claims["amr"] == ["pwd", "swk", "user", "mfa"]
    assert claims["acr"] == ACR_MFA
    (credential,) = browser.credentials()
    assert credential["isResidentCredential"] is True

    # the second factor of a later login
    browser.log_in_with_password("anna")
    page.wait_for_url(f"{issuer}/factors/passkeys/login/*")
    assert page.locator("h1").inner_text() == "Log in with your passkey"
    page.click("#passkey-button")
    claims = browser.at_demo()
    assert claims["amr"] == ["pwd", "swk", "user", "mfa"]
    assert claims["acr"] == ACR_MFA

    # no password: the login page's passkey button
    browser.start_login()
    assert page.locator("#username").get_attribute("autocomplete") == "username webauthn"
    browser.presence(True)
    page.get_by_role("button", name="Log in with a passkey").click()
    claims = browser.at_demo()
    assert claims["amr"] == ["swk", "user", "mfa"]
    assert claims["acr"] == ACR_MFA
    assert amr_on(page) == ["swk", "user", "mfa"]


def test_the_browser_offers_the_passkey_on_the_login_page(browser: Browser) -> None:
    """Conditional mediation: the page asks for a passkey as it opens, and the browser
    offers it with the username field; an authenticator that answers at once (as a
    person who picks it) logs in without the password."""
    enroll(browser, "dirk", "Laptop")
    browser.context.clear_cookies()
    browser.page.goto(f"{browser.server.issuer}/demo")
    browser.page.locator("#demo-login").click()
    claims = browser.at_demo()
    assert claims["amr"] == ["swk", "user", "mfa"]


def test_remove_a_passkey_on_the_manage_page(browser: Browser) -> None:
    page, issuer = browser.page, browser.server.issuer
    enroll(browser, "bram", "Telefoon")
    page.goto(f"{issuer}/account")
    page.locator("a[href='/factors/passkeys/manage']").click()
    page.wait_for_url(f"{issuer}/factors/passkeys/manage")
    row = page.locator("#passkeys li")
    assert row.count() == 1
    assert "Telefoon" in row.inner_text()
    assert "last used never" in row.inner_text()
    page.get_by_role("button", name="Remove Telefoon").click()
    page.wait_for_url(f"{issuer}/factors/passkeys/manage?notice=removed")
    assert page.locator("#removed-notice").inner_text() == "The passkey is removed."
    assert page.locator("#passkeys-status").inner_text() == "You have no passkeys yet."

    # the next login asks for a new passkey
    browser.log_in_with_password("bram")
    page.wait_for_url(f"{issuer}/factors/passkeys/enroll/*")


def test_a_counter_that_goes_backwards_is_refused(browser: Browser) -> None:
    page, issuer = browser.page, browser.server.issuer
    browser.server.add_user("carla", PASSWORD, name="Carla Mulder")
    enroll(browser, "carla", "Sleutel")
    browser.log_in_with_password("carla")
    page.click("#passkey-button")
    browser.at_demo()
    assert browser.credentials()[0]["signCount"] >= 2

    browser.set_sign_count(0)
    browser.log_in_with_password("carla")
    page.wait_for_url(f"{issuer}/factors/passkeys/login/*")
    page.click("#passkey-button")
    page.wait_for_load_state()
    error = page.locator("#form-error")
    assert "its use counter went backwards" in error.inner_text()
    assert page.url.startswith(f"{issuer}/factors/passkeys/login/")
