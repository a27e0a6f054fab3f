"""How the pages are drawn, measured in headless Chromium: buttons in the page's font,
links in the design's colour, radio buttons whose text wraps beside them, the install
page's links to the app stores, and Tab going through two buttons in the order they are
seen."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from plugins.pocket_mfa.config import PocketConfig
from tests.browser.audit import tab_stops
from tests.browser.steps import log_in_with_password
from tests.live import LiveServer, live_server

pytestmark = pytest.mark.browser

PASSWORD = "vier vogels op een dak"
TIMEOUT_MS = 10_000
#: idp.css's --blue
BLUE = "rgb(31, 78, 156)"


@pytest.fixture(scope="module")
def wizard_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """`idp serve --demo` with the Pocket plugin on and a second factor required."""
    settings = {"IDP_FACTORS_ENABLED": "pocket", "IDP_FACTORS_REQUIRED": "true"}
    with live_server(tmp_path_factory.mktemp("idp-layout"), demo=True, settings=settings) as server:
        for name in ("emma", "lucas"):
            server.add_user(name, PASSWORD, name=name.title())
        yield server


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(locale="nl-NL", viewport={"width": 390, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


def style(page: Any, selector: str, prop: str) -> str:
    value: str = page.eval_on_selector(
        selector, f"e => getComputedStyle(e).getPropertyValue('{prop}')"
    )
    return value


def test_tab_goes_through_two_buttons_left_to_right(wizard_server: LiveServer, page: Any) -> None:
    page.goto(f"{wizard_server.url}/demo")
    page.locator("#demo-login").click()
    page.wait_for_url(f"{wizard_server.url}/login/**")
    stops = tab_stops(page)
    assert [stop.what for stop in stops] == [
        'input#username "username"',
        'input#password "password"',
        'button "Inloggen"',
        'button "Annuleren"',
    ]
    log_in, cancel = stops[2], stops[3]
    assert log_in.on_the_line_of(cancel)
    assert log_in.x + log_in.width <= cancel.x


def test_buttons_and_links_follow_the_design(wizard_server: LiveServer, page: Any) -> None:
    log_in_with_password(page, wizard_server, "emma", PASSWORD)
    page.wait_for_url(f"{wizard_server.url}/login/*/methods")
    body_font = style(page, "body", "font-family")
    assert style(page, "button[value=next]", "font-family") == body_font
    assert style(page, "button[value=next]", "font-size") == "16px"

    # a link in the card, such as the pairing page's link for a phone, in the design's blue
    page.click("button[value=next]")
    page.wait_for_url(f"{wizard_server.url}/factors/pocket/enroll/*/install")
    page.click("button[value=next]")
    page.wait_for_url(f"{wizard_server.url}/factors/pocket/enroll/*/pair")
    assert style(page, "#pairing-link", "color") == BLUE


def test_wrapped_radio_text_stays_beside_the_radio_button(
    wizard_server: LiveServer, page: Any
) -> None:
    log_in_with_password(page, wizard_server, "emma", PASSWORD)
    page.wait_for_url(f"{wizard_server.url}/login/*/methods")
    for value in ("'pocket:push'", "'pocket:totp'"):
        radio = page.locator(f"input[value={value}]").bounding_box()
        # where each line of the option's title starts, at 390 px wide where it wraps
        lines = page.locator(f"label:has(input[value={value}])").evaluate(
            """label => {
              const text = [label, ...label.querySelectorAll('*')]
                .flatMap(e => [...e.childNodes])
                .find(n => n.nodeType === Node.TEXT_NODE && n.textContent.trim());
              const range = document.createRange();
              range.selectNodeContents(text);
              return [...range.getClientRects()].map(r => r.left);
            }"""
        )
        assert len(lines) >= 2, f"the {value} option's title does not wrap at 390 px"
        assert all(left >= radio["x"] + radio["width"] for left in lines), (value, lines, radio)
        assert max(lines) - min(lines) < 1, (value, lines)


def test_the_install_page_links_to_both_app_stores(wizard_server: LiveServer, page: Any) -> None:
    log_in_with_password(page, wizard_server, "lucas", PASSWORD)
    page.wait_for_url(f"{wizard_server.url}/login/*/methods")
    page.click("button[value=next]")
    page.wait_for_url(f"{wizard_server.url}/factors/pocket/enroll/*/install")
    app_store = page.get_by_role("link", name="Download in de App Store")
    play_store = page.get_by_role("link", name="Ontdek het op Google Play")
    # config/idp.toml sets none: the stores' own pages
    assert app_store.get_attribute("href") == PocketConfig.app_store_url
    assert play_store.get_attribute("href") == PocketConfig.play_store_url
    assert app_store.is_visible() and play_store.is_visible()
    # the links come before the wizard's buttons, and Next still goes on
    stops = [stop.what for stop in tab_stops(page)]
    store_links = [i for i, what in enumerate(stops) if what.startswith(("a#app-store", "a#play"))]
    assert store_links and max(store_links) < stops.index('button "Volgende"'), stops
    page.click("button[value=next]")
    page.wait_for_url(f"{wizard_server.url}/factors/pocket/enroll/*/pair")
