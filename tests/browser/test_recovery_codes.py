"""The recovery codes at the end of the wizard, in headless Chromium at 1280 and 390 px
wide, in English and in Dutch: copied to the clipboard, downloaded as a text file (also
without JavaScript), two columns that keep apart on a phone, and gone after a reload.

Screenshots are kept in var/screenshots/ (git-ignored) under stable names, for a person
to look at: recovery-codes-<width>-<locale>.png and recovery-codes-gone-<width>-<locale>.png.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.browser.steps import log_in_with_password
from tests.live import ROOT, LiveServer, live_server

pytestmark = pytest.mark.browser

PASSWORD = "zeven zoete zeeuwse zeilers"
TIMEOUT_MS = 15_000
SCREENSHOTS = ROOT / "var" / "screenshots"
WIDTHS = (1280, 390)
#: the least room between the two columns of codes, in CSS pixels
MIN_GAP = 16
#: a pixel darker than this (of 255) is text, not the white page
INK = 200
CONTINUE = {"en": "Continue to Pocket IdP demo", "nl": "Verder naar Pocket IdP demo"}
COPIED = {
    "en": "The codes are copied. Paste them somewhere safe.",
    "nl": "De codes zijn gekopieerd. Plak ze op een veilige plek.",
}
BROWSER_LOCALE = {"en": "en-GB", "nl": "nl-NL"}


@pytest.fixture(scope="module")
def codes_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = {"IDP_FACTORS_ENABLED": "pocket", "IDP_FACTORS_REQUIRED": "true"}
    with live_server(tmp_path_factory.mktemp("idp-codes"), demo=True, settings=settings) as server:
        for username in ("emma-en", "emma-nl", "noor-en", "noor-nl"):
            server.add_user(username, PASSWORD, name="Emma de Vries")
        yield server


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


def to_the_codes(page: Any, server: LiveServer, username: str) -> None:
    """The wizard with the authenticator app, up to its last page."""
    log_in_with_password(page, server, username, PASSWORD)
    page.wait_for_url(f"{server.url}/login/*/methods")
    page.check("input[value='pocket:totp']")
    page.click("button[value=next]")
    page.wait_for_url(f"{server.url}/factors/pocket/enroll/*/app")
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    page.fill("#code", pyotp.TOTP(secret).now())
    page.click("button[value=next]")
    page.wait_for_url(f"{server.url}/factors/pocket/enroll/*/done")


def column_gap(page: Any) -> int:
    """The blank room, in CSS pixels, between the two columns of codes as drawn: the
    widest run of pixel columns without ink between the left column's codes and the
    right column's (list numbers are ink too, wherever the layout puts them).

    The bounding boxes tell that there are two columns of five, and that the right one
    ends within the list."""
    listed = page.locator("#recovery-codes").bounding_box()
    items = page.locator("#recovery-codes li")
    boxes = [items.nth(i).bounding_box() for i in range(items.count())]
    lefts = sorted({round(box["x"]) for box in boxes})
    assert len(lefts) == 2, f"two columns expected, items start at {lefts}"
    assert [round(b["x"]) for b in boxes] == [lefts[0]] * 5 + [lefts[1]] * 5
    codes = page.locator("#recovery-codes li code")
    ends = [codes.nth(i).bounding_box() for i in range(codes.count())]
    assert max(c["x"] + c["width"] for c in ends) <= listed["x"] + listed["width"]
    drawn = Image.open(io.BytesIO(page.screenshot(clip=listed))).convert("L")
    width, height = drawn.size
    inked = [any(drawn.getpixel((x, y)) < INK for y in range(height)) for x in range(width)]
    first, last = inked.index(True), width - 1 - inked[::-1].index(True)
    widest = run = 0
    for x in range(first, last + 1):
        run = 0 if inked[x] else run + 1
        widest = max(widest, run)
    return widest


@pytest.mark.parametrize("locale", ["en", "nl"])
def test_the_recovery_codes_page_at_two_widths(
    codes_server: LiveServer, chromium: Any, locale: str
) -> None:
    server = codes_server
    context = chromium.new_context(
        locale=BROWSER_LOCALE[locale], viewport={"width": WIDTHS[0], "height": 900}
    )
    context.set_default_timeout(TIMEOUT_MS)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    try:
        page = context.new_page()
        to_the_codes(page, server, f"emma-{locale}")
        codes = page.locator("#recovery-codes code").all_inner_texts()
        assert len(codes) == 10

        # copy: the clipboard holds the codes, one a line, and the page says so
        page.locator("#copy-codes").click()
        expect(page.locator("#copy-status")).to_have_text(COPIED[locale])
        assert page.evaluate("navigator.clipboard.readText()").split() == codes

        # download: a text file with the codes
        with page.expect_download() as download:
            page.locator("#download-codes").click()
        saved = Path(download.value.path()).read_text(encoding="utf-8")
        assert saved.splitlines()[2:] == codes

        gaps = {}
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            screenshot(page, f"recovery-codes-{width}-{locale}.png")
            gaps[width] = column_gap(page)
        assert all(gap >= MIN_GAP for gap in gaps.values()), gaps

        # shown once: a reload shows what to do instead
        page.reload()
        assert page.locator("#recovery-codes").count() == 0
        assert page.locator("#codes-gone").is_visible()
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            screenshot(page, f"recovery-codes-gone-{width}-{locale}.png")
        page.get_by_role("button", name=CONTINUE[locale]).click()
        page.wait_for_url(f"{server.url}/demo/callback?**")
    finally:
        context.close()


@pytest.mark.parametrize("locale", ["en", "nl"])
def test_the_codes_download_without_javascript(
    codes_server: LiveServer, chromium: Any, locale: str
) -> None:
    server = codes_server
    context = chromium.new_context(locale=BROWSER_LOCALE[locale], java_script_enabled=False)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        to_the_codes(page, server, f"noor-{locale}")
        codes = page.locator("#recovery-codes code").all_inner_texts()
        assert not page.locator("#copy-codes").is_visible()  # it needs the script
        with page.expect_download() as download:
            page.locator("#download-codes").click()
        assert (
            download.value.suggested_filename
            == {
                "en": "recovery-codes.txt",
                "nl": "herstelcodes.txt",
            }[locale]
        )
        saved = Path(download.value.path()).read_text(encoding="utf-8")
        assert saved.splitlines()[2:] == codes
    finally:
        context.close()
