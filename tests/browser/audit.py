"""What every page is checked for in Chromium: axe-core's rules, a Tab order that follows
what the eye sees, links that say when they open a new tab, and screenshots at a desktop
and a phone width to look at; and, on a page that refuses what was typed, whether the
field in error points at the message.

axe-core comes inside the axe-playwright-python package (no download at test time); its
script is evaluated in the page, which the pages' Content-Security-Policy allows for
Playwright's own evaluation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from idp.i18n import Translator
from tests.live import ROOT

#: the screenshots a person looks at; var/ is git-ignored
SCREENSHOTS = ROOT / "var" / "screenshots"
#: a desktop and a phone (the widths a new user looked at)
WIDTHS = (1280, 390)
HEIGHT = 800
#: what fails a page; "minor" and "moderate" are reported by axe but left to judgement
FAILING_IMPACTS = ("serious", "critical")
#: a page with more stops than this is not walked further
MAX_TAB_STOPS = 60
#: how long an expectation on a page that has loaded may take, in milliseconds
SETTLED_MS = 2000


def axe_problems(page: Any, where: str) -> list[str]:
    """axe-core's serious and critical violations on the page, one line each (its
    script is put into a page once, not at each check of it)."""
    from axe_playwright_python.base import AXE_SCRIPT

    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_SCRIPT)
    response = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    problems = []
    for violation in response["violations"]:
        if violation["impact"] not in FAILING_IMPACTS:
            continue
        targets = ", ".join(" ".join(node["target"]) for node in violation["nodes"])
        problems.append(
            f"{where}: {violation['id']} ({violation['impact']}): {violation['help']}: {targets}"
        )
    return problems


@dataclass(frozen=True)
class Stop:
    """An element that Tab moved the focus to, where it is drawn on the page."""

    what: str
    x: float
    y: float
    width: float
    height: float

    def on_the_line_of(self, other: Stop) -> bool:
        return self.y < other.y + other.height and other.y < self.y + self.height

    def comes_visually_before(self, other: Stop) -> bool:
        """Left of `other` on the same line, or on a line above it."""
        if self.on_the_line_of(other):
            return self.x + self.width / 2 < other.x + other.width / 2
        return self.y < other.y


_FOCUSED = """() => {
  const element = document.activeElement;
  if (!element || element === document.body) { return null; }
  const box = element.getBoundingClientRect();
  const text = (element.innerText || element.value || element.getAttribute('name') || '').trim();
  return {
    what: element.tagName.toLowerCase() + (element.id ? '#' + element.id : '')
      + ' "' + text.slice(0, 40) + '"',
    x: box.left + window.scrollX, y: box.top + window.scrollY,
    width: box.width, height: box.height,
  };
}"""


def tab_stops(page: Any) -> list[Stop]:
    """Press Tab from the top of the page until the focus leaves it or comes round."""
    page.evaluate("() => { window.scrollTo(0, 0); }")
    # a click on the page's top left corner (the bar, not a link) puts the start of
    # sequential focus navigation there, whatever was focused before
    page.mouse.click(1, 1)
    stops: list[Stop] = []
    for _ in range(MAX_TAB_STOPS):
        page.keyboard.press("Tab")
        found = page.evaluate(_FOCUSED)
        if found is None:
            break
        stop = Stop(**found)
        if stop in stops:
            break
        stops.append(stop)
    return stops


def tab_order_problems(page: Any, where: str) -> list[str]:
    """Each Tab must move the focus right on the same line, or down."""
    stops = tab_stops(page)
    return [
        f"{where}: Tab goes from {before.what} back to {after.what}"
        for before, after in pairwise(stops)
        if after.comes_visually_before(before)
    ]


def new_tab_problems(page: Any, where: str, locale: str) -> list[str]:
    """A link that opens a new tab says so in its name: "(opens in a new tab)"."""
    from playwright.sync_api import expect

    says = re.compile(re.escape(Translator(locale)("link.new_tab")))
    links = page.locator("a[target=_blank]")
    problems = []
    for index in range(links.count()):
        link = links.nth(index)
        try:
            expect(link).to_have_accessible_name(says, timeout=SETTLED_MS)
        except AssertionError:
            problems.append(f"{where}: {link.inner_text()!r} opens a new tab without saying so")
    return problems


def field_error_problems(page: Any, where: str, field: str) -> list[str]:
    """The field in error is marked invalid and described by the page's error message."""
    from playwright.sync_api import expect

    message = page.locator(".error").first.inner_text().strip()
    located = page.locator(field)
    try:
        expect(located).to_have_attribute("aria-invalid", "true", timeout=SETTLED_MS)
    except AssertionError:
        return [f"{where}: {field} is not marked aria-invalid beside {message!r}"]
    try:
        expect(located).to_have_accessible_description(
            re.compile(re.escape(message)), timeout=SETTLED_MS
        )
    except AssertionError:
        return [f"{where}: {field} is not described by {message!r}"]
    return []


def check_page(page: Any, name: str, locale: str) -> list[str]:
    """Everything wrong with the page as it is now, at each width; saves its screenshots."""
    page.wait_for_load_state()
    problems = []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": HEIGHT})
        where = f"{name} ({locale}, {width} px)"
        problems += axe_problems(page, where)
        problems += tab_order_problems(page, where)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}-{locale}.png"), full_page=True)
    page.set_viewport_size({"width": WIDTHS[0], "height": HEIGHT})
    problems += new_tab_problems(page, f"{name} ({locale})", locale)
    return problems
