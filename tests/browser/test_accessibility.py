"""Every page a person can reach, in Dutch and in English, checked in headless Chromium
by axe-core (no serious or critical violation) and for a Tab order that follows the
visual order, at 1280 and 390 px wide, with links that say when they open a new tab; on
each page that refuses what was typed, the field points at the message. Each page's
screenshots are saved under var/screenshots/ (NAME-WIDTH-LOCALE.png).

The tour goes the way people go: the demo, a wrong password, the Pocket wizard (a phone
made by the `pocket` reference client scans the QR code), the account and its manage
pages, logging out, a push denied and one reported as fraud, the authenticator-app
wizard, a code login, consent, and the pages for a browser without a session or one that
is not supported.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pyotp
import pytest

from idp.pkce import new_pair
from tests.browser.audit import check_page, field_error_problems
from tests.browser.steps import read_qr
from tests.browser.test_pocket_push import TIMEOUT_MS, pocket
from tests.live import LiveServer, live_server

pytestmark = pytest.mark.browser

PASSWORD = "zes zakken zand"
LOCALES = {"nl": "nl-NL", "en": "en-GB"}
#: the user agent of Internet Explorer 11, which cannot show the wizard's QR codes
INTERNET_EXPLORER = "Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko"


@pytest.fixture(scope="module")
def tour_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """`idp serve --demo` with Pocket required; per language a user for each way through
    the wizard, and a third-party client that asks for consent."""
    settings = {"IDP_FACTORS_ENABLED": "pocket", "IDP_FACTORS_REQUIRED": "true"}
    with live_server(tmp_path_factory.mktemp("idp-a11y"), demo=True, settings=settings) as server:
        for language in LOCALES:
            for who in ("push", "app", "ie"):
                server.add_user(f"{who}-{language}", PASSWORD, name=f"{who} {language}")
        server.add_client(
            "Partner app",
            client_id="partner",
            redirect_uris=[f"{server.url}/partner/callback"],
            first_party=False,
            public=True,
        )
        yield server


class Tour:
    """One language's walk through the pages, gathering what is wrong on each."""

    def __init__(self, server: LiveServer, page: Any, locale: str, folder: Path) -> None:
        self.server = server
        self.page = page
        self.locale = locale
        self.folder = folder
        self.problems: list[str] = []

    def look(self, name: str, *fields_in_error: str) -> None:
        """Check the page as it is, and the fields that its error message is about."""
        self.problems += check_page(self.page, name, self.locale)
        for field in fields_in_error:
            where = f"{name} ({self.locale})"
            self.problems += field_error_problems(self.page, where, field)

    def go(self, path: str) -> None:
        self.page.goto(f"{self.server.url}{path}")

    def wait_for(self, path: str) -> None:
        self.page.wait_for_url(f"{self.server.url}{path}")

    def log_in(self, username: str, password: str = PASSWORD) -> None:
        self.page.fill("#username", username)
        self.page.fill("#password", password)
        self.page.click("button[value=login]")

    def start_demo_login(self) -> None:
        self.go("/demo")
        self.page.locator("#demo-login").click()
        self.wait_for("/login/**")

    def log_out_of_the_demo(self) -> None:
        self.page.locator("a[href^='/logout?']").click()
        self.wait_for("/demo?state=demo")


def pocket_wizard_and_account(tour: Tour, phone: Path) -> None:
    page, user = tour.page, f"push-{tour.locale}"
    tour.go("/demo")
    tour.look("demo")
    page.locator("#demo-login").click()
    tour.wait_for("/login/**")
    tour.look("login")
    tour.log_in(user, "not the password")
    page.locator(".error").wait_for()
    tour.look("login-error", "#username", "#password")
    tour.log_in(user)
    tour.wait_for("/login/*/methods")
    tour.look("choose")
    # the method is preselected: only a form sent without one shows the error
    page.evaluate(
        "() => document.querySelectorAll('[name=method]').forEach(r => r.checked = false)"
    )
    page.click("button[value=next]")
    page.locator(".error").wait_for()
    tour.look("choose-error", "fieldset")
    page.check("input[value='pocket:push']")
    page.click("button[value=next]")
    tour.wait_for("/factors/pocket/enroll/*/install")
    tour.look("install")
    page.click("button[value=next]")
    tour.wait_for("/factors/pocket/enroll/*/pair")
    tour.look("pair")
    shot = tour.folder / f"pairing-{tour.locale}.png"
    shot.write_bytes(page.locator("#pairing-qr svg").screenshot())
    assert read_qr(shot.read_bytes()).startswith("pocket://pair?")
    pocket(phone, "pair", str(shot), "--name", "Tour phone")
    tour.wait_for("/factors/pocket/enroll/*/done")  # the page moves on by itself
    tour.look("done-pocket")
    codes = page.locator("#recovery-codes li").all_inner_texts()
    page.click("button[value=next]")
    tour.wait_for("/demo/callback?**")
    tour.look("demo-result")

    tour.go("/account")
    tour.look("account")
    tour.go("/factors/pocket/manage")
    tour.look("manage")
    page.locator("#devices a").first.click()
    tour.wait_for("/factors/pocket/manage/remove/*")
    tour.look("manage-remove")
    page.fill("#current", "000000")
    page.click("#remove-confirm")
    page.locator(".error").wait_for()
    tour.look("manage-remove-error", "#current")
    page.click("#remove-cancel")
    tour.wait_for("/factors/pocket/manage")
    page.fill("#current", codes[0])
    page.click("button[value=pocket]")
    tour.wait_for("/factors/pocket/manage/pair/*")
    tour.look("manage-pair")
    page.click("button[value=cancel]")
    tour.wait_for("/factors/pocket/manage")
    page.fill("#current", codes[1])
    page.click("button[value=codes]")
    page.locator("#recovery-codes").wait_for()
    tour.look("recovery-codes")

    tour.go("/account/password")
    tour.look("password")
    page.fill("#current", "not the password")
    page.fill("#new", "a new password for the tour")
    page.fill("#repeat", "a new password for the tour")
    page.fill("#code", "000000")
    page.click("#password-change")
    page.locator(".error").wait_for()
    tour.look("password-error", "#current")

    tour.go("/logout")
    tour.look("logout")
    page.click("button[value=stay]")
    page.wait_for_load_state()
    tour.look("still-logged-in")
    tour.go("/logout")
    page.click("button[value=logout]")
    page.wait_for_load_state()
    tour.look("logged-out")


def push_denied_and_fraud(tour: Tour, phone: Path) -> None:
    page = tour.page
    tour.start_demo_login()
    tour.log_in(f"push-{tour.locale}")
    tour.wait_for("/factors/pocket/push/*")
    page.locator("#push-waiting").wait_for()  # shown by the script once it waits
    tour.look("push")
    pocket(phone, "deny")
    page.locator("#push-state[data-state=denied]").wait_for()  # by itself
    tour.look("push-denied")
    page.click("#push-send")
    page.locator("#push-state[data-state=pending]").wait_for()
    pocket(phone, "deny", "--fraud")
    page.locator("#push-fraud").wait_for()  # by itself
    tour.look("push-fraud")
    tour.go(f"/factors/pocket/help?lang={tour.locale}")
    tour.look("help")


def wrong_code(totp: pyotp.TOTP) -> str:
    """A code of the right form that the checker refuses now."""
    now = time.time()
    valid = {totp.at(now + step * totp.interval) for step in (-1, 0, 1)}
    return next(code for code in ("000000", "111111", "222222") if code not in valid)


def app_wizard_and_codes(tour: Tour) -> None:
    page, user = tour.page, f"app-{tour.locale}"
    tour.start_demo_login()
    tour.log_in(user)
    tour.wait_for("/login/*/methods")
    page.check("input[value='pocket:totp']")
    page.click("button[value=next]")
    tour.wait_for("/factors/pocket/enroll/*/app")
    tour.look("app")
    totp = pyotp.parse_uri(read_qr(page.locator("#totp-qr svg").screenshot()))
    assert isinstance(totp, pyotp.TOTP)
    page.fill("#code", wrong_code(totp))
    page.click("button[value=next]")
    page.locator(".error").wait_for()
    tour.look("app-error", "#code")
    page.fill("#code", totp.now())
    page.click("button[value=next]")
    tour.wait_for("/factors/pocket/enroll/*/done")
    tour.look("done-app")
    codes = page.locator("#recovery-codes li").all_inner_texts()
    page.click("button[value=next]")
    tour.wait_for("/demo/callback?**")
    tour.log_out_of_the_demo()

    tour.start_demo_login()
    tour.log_in(user)
    tour.wait_for("/factors/pocket/verify/*")
    tour.look("verify")
    page.fill("#code", wrong_code(totp))
    page.click("button[value=next]")
    page.locator(".error").wait_for()
    tour.look("verify-error", "#code")
    page.fill("#code", codes[0])
    page.click("button[value=next]")
    tour.wait_for("/demo/callback?**")

    tour.go("/factors/pocket/manage")
    page.fill("#current", wrong_code(totp))
    page.click("button[value=codes]")
    page.locator(".error").wait_for()
    tour.look("manage-error", "#current")
    page.fill("#current", codes[1])
    page.click("button[value=app]")
    tour.wait_for("/factors/pocket/manage/app/*")
    tour.look("manage-app")
    page.click("button[value=cancel]")
    tour.wait_for("/factors/pocket/manage")


def consent_and_error(tour: Tour) -> None:
    """A third-party application asks for consent; denied, it sends the browser back to
    an address that nobody serves here: the error page."""
    _, challenge = new_pair()
    query = urlencode(
        {
            "response_type": "code",
            "client_id": "partner",
            "redirect_uri": f"{tour.server.url}/partner/callback",
            "scope": "openid profile",
            "state": "tour",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    tour.go(f"/authorize?{query}")
    tour.wait_for("/consent/*")
    tour.look("consent")
    tour.page.click("button[value=deny]")
    tour.wait_for("/partner/callback?**")
    tour.look("error")


def test_every_page_passes_axe_and_tabs_in_visual_order(
    tour_server: LiveServer, chromium: Any, tmp_path: Path
) -> None:
    problems: list[str] = []
    for locale, browser_locale in LOCALES.items():
        context = chromium.new_context(locale=browser_locale)
        context.set_default_timeout(TIMEOUT_MS)
        try:
            tour = Tour(tour_server, context.new_page(), locale, tmp_path)
            phone = tmp_path / f"phone-{locale}.json"
            pocket_wizard_and_account(tour, phone)
            push_denied_and_fraud(tour, phone)
            app_wizard_and_codes(tour)
            consent_and_error(tour)
            problems += tour.problems
        finally:
            context.close()

        # a browser with no session, on the manage page
        context = chromium.new_context(locale=browser_locale)
        context.set_default_timeout(TIMEOUT_MS)
        try:
            tour = Tour(tour_server, context.new_page(), locale, tmp_path)
            tour.go("/factors/pocket/manage")
            tour.look("no-session")
            problems += tour.problems
        finally:
            context.close()

        # Internet Explorer, at the wizard's step that would show a QR code
        context = chromium.new_context(locale=browser_locale, user_agent=INTERNET_EXPLORER)
        context.set_default_timeout(TIMEOUT_MS)
        try:
            tour = Tour(tour_server, context.new_page(), locale, tmp_path)
            tour.start_demo_login()
            tour.log_in(f"ie-{locale}")
            tour.wait_for("/login/*/methods")
            tour.look("choose-ie")  # the authenticator app preselected
            tour.page.check("input[value='pocket:push']")
            tour.page.click("button[value=next]")
            tour.wait_for("/factors/pocket/enroll/*/install")
            tour.look("unsupported")
            problems += tour.problems
        finally:
            context.close()
    assert not problems, "\n".join(problems)
