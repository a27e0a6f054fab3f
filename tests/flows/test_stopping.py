"""A node asked to stop answers the pages that wait on it (long polls) at once, so that
it stops in moments rather than after their timeouts, and the page asks again elsewhere."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import requests

from tests.flows.forms import Browser, password_step
from tests.live import live_server

PASSWORD = "correct horse battery"
RP = "https://rp.test/cb"


def test_a_stopping_server_answers_a_waiting_page_and_stops_at_once(tmp_path: Path) -> None:
    with live_server(tmp_path / "idp") as server:
        server.add_user("joris", PASSWORD)
        client = server.add_client("rp", redirect_uris=[RP], mfa="required")
        query = {
            "response_type": "code",
            "client_id": client["client_id"],
            "redirect_uri": RP,
            "scope": "openid",
            "state": "s",
            "nonce": "n",
        }
        browser = Browser(server.url)
        start = browser.session.get(
            f"{server.url}/authorize", params=query, allow_redirects=False, timeout=10
        )
        page = password_step(
            browser, browser.open(server.url + start.headers["location"]), "joris", PASSWORD
        )
        assert page.url.endswith("/methods"), page.describe()
        page = browser.submit(page, ("action", "next"), method="pocket:push")
        assert page.url.endswith("/install"), page.describe()
        page = browser.submit(page, ("action", "next"))
        assert page.url.endswith("/pair"), page.describe()

        # the page's long poll for the pairing: no phone pairs, so it waits (25 s)
        answers: list[requests.Response] = []
        waiting = threading.Thread(
            target=lambda: answers.append(browser.session.get(page.url + "/wait", timeout=60))
        )
        waiting.start()
        time.sleep(1.0)
        assert not answers  # still waiting

        began = time.monotonic()
        server.node.stop()
        stopped_after = time.monotonic() - began
        waiting.join(10)

        assert answers and answers[0].status_code == 200, answers
        assert stopped_after < 5, f"the server took {stopped_after:.1f} s to stop"
        assert "Traceback" not in server.log()
