"""The pages whose words changed, in headless Chromium, in English and in Dutch, each at
1280 and 390 px wide: a login locked for a minute, the demo application after a stopped
login, the code step of a user with only recovery codes, the push limit, the account
page, the Pocket management pages and new recovery codes there.

A phone is made in the test (it signs like the reference client) and talks to the
server's device API over HTTP. Each page is checked for its words, and kept as a
screenshot in var/screenshots/ (git-ignored): <page>-<width>-<locale>.png.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from plugins.pocket_mfa.push.protocol import parse_pairing_uri
from tests.browser.steps import log_in_with_password
from tests.browser.test_recovery_codes import SCREENSHOTS, WIDTHS
from tests.live import LiveServer, live_server
from tests.plugins.pocket_mfa.push.conftest import Phone

pytestmark = pytest.mark.browser

PASSWORD = "vier vrolijke visjes"
TIMEOUT_MS = 15_000
BROWSER_LOCALE = {"en": "en-GB", "nl": "nl-NL"}
#: what each page says, in each language
SAYS = {
    "login-locked": {
        "en": "please try again in 1 minute.",
        "nl": "probeer het over 1 minuut opnieuw.",
    },
    "demo-error": {
        "en": "The login was stopped or refused, so the application did not log you in.",
        "nl": "Het inloggen is gestopt of geweigerd, dus de applicatie heeft je niet ingelogd.",
    },
    "code-step-recovery": {
        "en": "That code is not right. Enter one of your recovery codes",
        "nl": "Deze code klopt niet. Vul een van je herstelcodes in",
    },
    "push-limit": {
        "en": "Please wait 1 minute, or use a code instead.",
        "nl": "Wacht 1 minuut, of gebruik in plaats daarvan een code.",
    },
    "account": {"en": "9 recovery codes left", "nl": "Nog 9 herstelcodes over"},
    "manage-recovery": {
        "en": "One of your recovery codes",
        "nl": "Een van je herstelcodes",
    },
    "manage-codes": {"en": "Download as a text file", "nl": "Downloaden als tekstbestand"},
    "remove-phone": {
        "en": "To remove it, enter one of your recovery codes.",
        "nl": "Vul een van je herstelcodes in om hem te verwijderen.",
    },
}
CONTINUE = {"en": "Continue to Pocket IdP demo", "nl": "Verder naar Pocket IdP demo"}
MANAGE = {"en": "Set up or change", "nl": "Instellen of wijzigen"}
NEW_CODES = {"en": "Make new recovery codes", "nl": "Nieuwe herstelcodes maken"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    # three wrong passwords lock a login for one minute
    settings = {
        "IDP_FACTORS_ENABLED": "pocket",
        "IDP_FACTORS_REQUIRED": "true",
        "IDP_LOGIN_ACCOUNT_LIMIT": "3",
        "IDP_LOGIN_WINDOW": "60",
    }
    folder = tmp_path_factory.mktemp("idp-screens")
    with live_server(folder, demo=True, settings=settings) as live:
        for locale in BROWSER_LOCALE:
            live.add_user(f"sam-{locale}", PASSWORD, name="Sam Bakker")
        yield live


def shoot(page: Any, name: str, locale: str) -> None:
    """The page in both widths; back at the first width afterwards."""
    expect(page.locator("main")).to_contain_text(SAYS[name][locale])
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}-{locale}.png"), full_page=True)
    page.set_viewport_size({"width": WIDTHS[0], "height": 900})


def deny_the_push(page: Any, phone: Phone) -> None:
    page.locator("#push-number").wait_for()
    [challenge] = phone.challenges()
    phone.answer(challenge["id"], "deny")
    page.locator("#push-state[data-state=denied]").wait_for()


@pytest.mark.parametrize("locale", ["en", "nl"])
def test_the_changed_pages_in_both_languages(
    server: LiveServer, chromium: Any, locale: str
) -> None:
    context = chromium.new_context(
        locale=BROWSER_LOCALE[locale], viewport={"width": WIDTHS[0], "height": 900}
    )
    context.set_default_timeout(TIMEOUT_MS)
    username = f"sam-{locale}"
    device_api = httpx.Client(base_url=server.url)
    phone = Phone(device_api, time.time, issuer=server.issuer)
    try:
        page = context.new_page()
        # a login locked for a minute, and the demo application when it is cancelled
        for _ in range(4):
            log_in_with_password(page, server, f"nobody-{locale}", "wrong")
        shoot(page, "login-locked", locale)
        page.click("button[value=cancel]")
        page.wait_for_url(f"{server.url}/demo/callback?**")
        shoot(page, "demo-error", locale)

        # Pocket is linked in the wizard; the phone scans the pairing link's code
        log_in_with_password(page, server, username, PASSWORD)
        page.wait_for_url(f"{server.url}/login/*/methods")
        page.click("button[value=next]")
        page.click("button[value=next]")
        page.wait_for_url(f"{server.url}/factors/pocket/enroll/*/pair")
        uri = page.locator("#pairing-link").get_attribute("href")
        assert phone.pair(parse_pairing_uri(uri)[1], "Pixel 8").status_code == 201
        page.wait_for_url(f"{server.url}/factors/pocket/enroll/*/done")
        codes = page.locator("#recovery-codes code").all_inner_texts()
        page.get_by_role("button", name=CONTINUE[locale]).click()
        page.wait_for_url(f"{server.url}/demo/callback?**")

        # the next login: a code instead of the push, with recovery codes only
        context.clear_cookies()
        log_in_with_password(page, server, username, PASSWORD)
        page.wait_for_url(f"{server.url}/factors/pocket/push/*")
        deny_the_push(page, phone)
        page.locator("#use-code").click()
        page.fill("#code", "aaaaa-aaaaa")
        page.click("button[value=next]")
        shoot(page, "code-step-recovery", locale)

        # back to the push: two more denied, and the next one waits a minute
        page.locator("#use-push").click()
        for _ in range(2):
            page.locator("#push-send").click()
            deny_the_push(page, phone)
        page.locator("#push-send").click()
        shoot(page, "push-limit", locale)
        page.locator("#use-code").click()
        page.fill("#code", codes[0])
        page.click("button[value=next]")
        page.wait_for_url(f"{server.url}/demo/callback?**")

        # the account page and the management pages of this user
        page.goto(f"{server.url}/account")
        shoot(page, "account", locale)
        page.get_by_role("link", name=MANAGE[locale]).click()
        shoot(page, "manage-recovery", locale)
        page.fill("#current", codes[1])
        page.get_by_role("button", name=NEW_CODES[locale]).click()
        shoot(page, "manage-codes", locale)
        page.goto(f"{server.url}/factors/pocket/manage")
        page.locator("#devices a.button").click()
        shoot(page, "remove-phone", locale)
    finally:
        context.close()
        device_api.close()
