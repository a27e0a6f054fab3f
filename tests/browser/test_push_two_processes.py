"""The push login of test_pocket_push.py in headless Chromium, against two `idp serve`
processes on one PostgreSQL (alone, or with a Redis cache) behind HAProxy's round robin
per request.

The browser's requests alternate between the processes, and so do the phone's; the page
waits on its long-poll on one process while the answer lands on either, so it moves on
only through a wake-up that crosses processes: PostgreSQL's NOTIFY, or Redis's pub/sub
when there is a cache.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.steps import amr_on, log_in_with_password
from tests.browser.test_pocket_push import TIMEOUT_MS, pair_by_screenshot, pocket
from tests.servers.cluster import start_cluster
from tests.servers.fixtures import Starter
from tests.servers.haproxy import HaproxyServer
from tests.servers.idp_nodes import IdpNodes

pytestmark = pytest.mark.browser

PASSWORD = "drie kikkers in de sloot"


@pytest.mark.parametrize("store", ["postgresql", "postgresql+redis"])
def test_push_login_in_chromium_across_two_processes(
    store: str,
    request: pytest.FixtureRequest,
    postgres_url: str,
    start_idp_nodes: Starter[..., IdpNodes],
    start_haproxy: Starter[..., HaproxyServer],
    chromium: Any,
    tmp_path: Path,
) -> None:
    settings = {"IDP_FACTORS_ENABLED": "pocket", "IDP_FACTORS_REQUIRED": "true"}
    if store == "postgresql+redis":
        settings["IDP_STORE_CACHE"] = request.getfixturevalue("redis_url")
    server = start_cluster(
        postgres_url,
        start_idp_nodes,
        start_haproxy,
        settings=settings,
        demo=True,
        access_log=True,
    )
    server.add_user("sanne", PASSWORD, name="Sanne Visser", email="sanne@example.org")
    state = tmp_path / "phone.json"
    context = chromium.new_context(locale="nl-NL")
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        log_in_with_password(page, server, "sanne", PASSWORD)
        pair_by_screenshot(page, server, state, tmp_path)
        page.wait_for_url(f"{server.url}/factors/pocket/enroll/*/done")  # by itself
        page.get_by_role("button", name="Verder naar Pocket IdP demo").click()
        page.wait_for_url(f"{server.url}/demo/callback?**")
        assert amr_on(page) == ["pwd", "swk", "mfa"]

        page.get_by_role("link", name="Uitloggen").click()
        page.wait_for_url(f"{server.url}/demo?state=demo")
        log_in_with_password(page, server, "sanne", PASSWORD)
        page.wait_for_url(f"{server.url}/factors/pocket/push/*")
        number = page.locator("#push-number").inner_text()
        assert number in pocket(state, "pending").split("numbers:")[1]
        pocket(state, "approve", "--number", number)
        page.wait_for_url(f"{server.url}/demo/callback?**")  # by itself
        assert amr_on(page) == ["pwd", "swk", "mfa"]
    finally:
        context.close()

    # both processes served the browser's pages, the phone and the page's long-polls
    for name, log in server.logs().items():
        for path in ("/login/", "/factors/pocket/push/", "/pocket/api/v1/challenges"):
            assert path in log, f"{name} never served {path}:\n{log[-3000:]}"
