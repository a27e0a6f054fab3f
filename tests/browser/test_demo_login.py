"""A person logs in through the demo relying party in a real (headless) browser."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.browser

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: every step is local and takes well under a second; fail fast when one does not come
TIMEOUT_MS = 10_000


def test_demo_login_shows_the_id_token_and_userinfo(demo_server, person, chromium, tmp_path):
    context = chromium.new_context(locale="en-GB")
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        page.goto(f"{demo_server.url}/demo")
        page.get_by_role("link", name="Log in with Pocket IdP").click()

        page.wait_for_url(f"{demo_server.url}/login/**")
        assert page.locator("h1").inner_text() == "Log in"
        page.fill("#username", person["username"])
        page.fill("#password", person["password"])
        page.click("button[value=login]")

        page.wait_for_url(f"{demo_server.url}/demo/callback?**")
        claims = json.loads(page.locator("#id-token-claims").inner_text())
        userinfo = json.loads(page.locator("#userinfo").inner_text())
        # code flow: the ID token names the user by sub; profile claims come from
        # userinfo (OpenID Connect Core 5.4)
        assert claims["sub"] == person["sub"]
        assert claims["iss"] == demo_server.issuer
        assert claims["aud"] in ("demo", ["demo"])
        assert userinfo["sub"] == person["sub"]
        assert userinfo["name"] == "Joost de Boer"
        assert userinfo["email"] == "joost@example.org"
        assert "Joost de Boer" in page.locator("body").inner_text()
        checks = page.locator("ul.checks li").all_inner_texts()
        assert checks and all(text.endswith("✓") for text in checks), checks
        assert checks[0] == "signature valid: ✓"

        shot = tmp_path / "demo-id-token.png"
        page.screenshot(path=str(shot), full_page=True)
        data = shot.read_bytes()
        assert len(data) > 1000 and data.startswith(PNG_SIGNATURE)

        # logging out (RP-initiated, with id_token_hint) comes back to the demo page,
        # and the next login asks for the password again
        page.get_by_role("link", name="Log out").click()
        page.wait_for_url(f"{demo_server.url}/demo?state=demo")
        page.get_by_role("link", name="Log in with Pocket IdP").click()
        page.wait_for_url(f"{demo_server.url}/login/**")
        assert page.locator("#password").is_visible()
    finally:
        context.close()


def test_login_page_speaks_dutch(demo_server, person, chromium, tmp_path):
    context = chromium.new_context(locale="nl-NL", extra_http_headers={"Accept-Language": "nl"})
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        page.goto(f"{demo_server.url}/demo")
        assert page.locator("h1").inner_text() == "Pocket IdP-demo"
        page.locator("#demo-login").click()

        page.wait_for_url(f"{demo_server.url}/login/**")
        assert page.locator("h1").inner_text() == "Inloggen"
        assert page.locator("button[value=login]").inner_text() == "Inloggen"
        assert page.locator("label[for=username]").inner_text() == "Gebruikersnaam"
        assert page.locator("html").get_attribute("lang") == "nl"

        shot = tmp_path / "inloggen.png"
        page.screenshot(path=str(shot))
        data = shot.read_bytes()
        assert len(data) > 1000 and data.startswith(PNG_SIGNATURE)

        page.fill("#username", person["username"])
        page.fill("#password", person["password"])
        page.click("button[value=login]")
        page.wait_for_url(f"{demo_server.url}/demo/callback?**")
        claims = json.loads(page.locator("#id-token-claims").inner_text())
        assert claims["sub"] == person["sub"]
        assert page.locator("ul.checks li").all_inner_texts() == [
            "handtekening geldig: ✓",
            "nonce klopt: ✓",
            "bestemd voor deze applicatie: ✓",
        ]
    finally:
        context.close()
