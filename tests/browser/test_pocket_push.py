"""A person enrolls Pocket push in headless Chromium and logs in with it.

The QR code on the wizard's page is read back from a screenshot, and the `pocket`
reference client (python -m plugins.pocket_mfa.client) pairs with it as a phone would;
the page moves on by itself. The next login waits for `pocket approve --number N`, with N
read from the page, and continues by itself to the relying party (the demo client). A
login stopped in the browser withdraws its push: the phone's answer comes too late.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.steps import amr_on, log_in_with_password, read_qr
from tests.live import ROOT, LiveServer, live_server

pytestmark = pytest.mark.browser

PASSWORD = "twee emmers water halen"
#: every step is local; the long-polls answer the moment something happens
TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def push_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """`idp serve --demo` with the Pocket plugin on and a second factor required."""
    settings = {"IDP_FACTORS_ENABLED": "pocket", "IDP_FACTORS_REQUIRED": "true"}
    folder = tmp_path_factory.mktemp("idp-push")
    with live_server(folder, demo=True, settings=settings) as server:
        server.add_user("lotte", PASSWORD, name="Lotte Jansen", email="lotte@example.org")
        server.add_user("daan", PASSWORD, name="Daan Smit", email="daan@example.org")
        server.add_user("sanne", PASSWORD, name="Sanne Visser", email="sanne@example.org")
        yield server


def run_pocket(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The reference device client, as a person would run it."""
    return subprocess.run(
        [sys.executable, "-m", "plugins.pocket_mfa.client", "--state", str(state), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )


def pocket(state: Path, *args: str) -> str:
    result = run_pocket(state, *args)
    assert result.returncode == 0, f"pocket {' '.join(args)}:\n{result.stdout}{result.stderr}"
    return result.stdout


def pair_by_screenshot(page: Any, server: LiveServer, state: Path, tmp_path: Path) -> None:
    """Step 2 to the pairing page, then the phone scans the QR code that the browser drew."""
    page.wait_for_url(f"{server.url}/login/*/methods")
    assert page.locator("input[value='pocket:push']").is_checked()
    page.click("button[value=next]")
    page.wait_for_url(f"{server.url}/factors/pocket/enroll/*/install")
    page.click("button[value=next]")
    page.wait_for_url(f"{server.url}/factors/pocket/enroll/*/pair")
    qr = page.locator("#pairing-qr svg")
    assert qr.is_visible()
    shot = tmp_path / "pairing-qr.png"
    shot.write_bytes(qr.screenshot())
    uri = read_qr(shot.read_bytes())
    assert uri.startswith("pocket://pair?v=1&issuer=")
    paired = pocket(state, "pair", str(shot), "--name", "Test phone")
    assert "Paired 'Test phone'" in paired


def test_enroll_pocket_by_qr_code_and_log_in_with_a_push(
    push_server: LiveServer, chromium: Any, tmp_path: Path
) -> None:
    server = push_server
    state = tmp_path / "phone.json"
    context = chromium.new_context(locale="en-GB")
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        log_in_with_password(page, server, "lotte", PASSWORD)
        pair_by_screenshot(page, server, state, tmp_path)

        # nobody clicks: the page noticed the pairing and moved on
        page.wait_for_url(f"{server.url}/factors/pocket/enroll/*/done")
        assert page.locator("h1").inner_text() == "Done!"
        assert "linked to Pocket" in page.locator("main").inner_text()
        assert page.locator("#recovery-codes li").count() == 10
        page.get_by_role("button", name="Continue to Pocket IdP demo").click()
        page.wait_for_url(f"{server.url}/demo/callback?**")
        assert amr_on(page) == ["pwd", "swk", "mfa"]

        # log out, then in again: a push, approved on the phone with the page's number
        page.get_by_role("link", name="Log out").click()
        page.wait_for_url(f"{server.url}/demo?state=demo")
        log_in_with_password(page, server, "lotte", PASSWORD)
        page.wait_for_url(f"{server.url}/factors/pocket/push/*")
        number = page.locator("#push-number").inner_text()
        assert "to log in to Pocket IdP demo" in page.locator("main").inner_text()
        pending = pocket(state, "pending")
        assert number in pending.split("numbers:")[1]
        assert "Approved." in pocket(state, "approve", "--number", number)
        page.wait_for_url(f"{server.url}/demo/callback?**")
        assert amr_on(page) == ["pwd", "swk", "mfa"]

        devices = json.loads(server.idp("users", "devices", "lotte", "--json"))
        assert [d["name"] for d in devices] == ["Test phone"]
    finally:
        context.close()


def test_fraud_reported_on_the_phone_stops_the_login_in_the_browser(
    push_server: LiveServer, chromium: Any, tmp_path: Path
) -> None:
    server = push_server
    state = tmp_path / "phone.json"
    context = chromium.new_context(locale="nl-NL")
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        log_in_with_password(page, server, "daan", PASSWORD)
        assert page.locator("h1").inner_text() == "Twee-factorauthenticatie"
        pair_by_screenshot(page, server, state, tmp_path)
        page.wait_for_url(f"{server.url}/factors/pocket/enroll/*/done")
        page.get_by_role("button", name="Verder naar Pocket IdP demo").click()
        page.wait_for_url(f"{server.url}/demo/callback?**")

        page.get_by_role("link", name="Uitloggen").click()
        page.wait_for_url(f"{server.url}/demo?state=demo")
        log_in_with_password(page, server, "daan", PASSWORD)
        page.wait_for_url(f"{server.url}/factors/pocket/push/*")
        assert "Tik in Pocket op dit getal" in page.locator("main").inner_text()
        assert "reported as fraud" in pocket(state, "deny", "--fraud")
        page.locator("#push-fraud").wait_for()
        assert page.locator("h1").inner_text() == "Login gestopt"
    finally:
        context.close()


def test_stop_in_the_browser_withdraws_the_push_from_the_phone(
    push_server: LiveServer, chromium: Any, tmp_path: Path
) -> None:
    server = push_server
    state = tmp_path / "phone.json"
    context = chromium.new_context(locale="en-GB")
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        log_in_with_password(page, server, "sanne", PASSWORD)
        pair_by_screenshot(page, server, state, tmp_path)
        page.wait_for_url(f"{server.url}/factors/pocket/enroll/*/done")
        page.get_by_role("button", name="Continue to Pocket IdP demo").click()
        page.wait_for_url(f"{server.url}/demo/callback?**")
        page.get_by_role("link", name="Log out").click()
        page.wait_for_url(f"{server.url}/demo?state=demo")

        log_in_with_password(page, server, "sanne", PASSWORD)
        page.wait_for_url(f"{server.url}/factors/pocket/push/*")
        number = page.locator("#push-number").inner_text()
        [challenge_id] = [line.split()[0] for line in pocket(state, "pending").splitlines()]
        page.get_by_role("button", name="Stop").click()
        page.wait_for_url(f"{server.url}/demo/callback?**")
        assert "access_denied" in page.content()

        # the phone no longer lists the push, and answering it is refused plainly
        assert "No pending challenges." in pocket(state, "pending")
        late = run_pocket(state, "approve", "--number", number, challenge_id)
        assert late.returncode == 1
        assert "Approved." not in late.stdout
        assert (
            "This request is no longer valid: the login was stopped or has expired." in late.stderr
        )
    finally:
        context.close()
