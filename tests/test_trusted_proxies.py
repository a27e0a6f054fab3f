"""`idp serve` trusts X-Forwarded-For from no proxy unless one is configured: a local
process cannot choose the address its failed logins are counted against. Start-up
says which proxies are trusted."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.flows.forms import Browser, password_step
from tests.live import live_server

CALLBACK = "https://rp.example.test/callback"


def failed_login(issuer: str, client_id: str, username: str, forwarded_for: str) -> int:
    """A login with a wrong password, each request claiming to be for `forwarded_for`;
    the status of the answer to the password."""
    browser = Browser(issuer)
    browser.session.headers["X-Forwarded-For"] = forwarded_for
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": CALLBACK,
            "scope": "openid",
        }
    )
    login_page = browser.open(f"{issuer}/authorize?{query}")
    return password_step(browser, login_page, username, "not the password").status


@pytest.mark.parametrize(
    ("settings", "logged", "second_status"),
    [
        # the shipped configuration: both failures count against 127.0.0.1, which is
        # then refused
        ({}, "no proxy is trusted", 429),
        # a proxy on 127.0.0.1: each failure counts against the address it forwards
        (
            {"IDP_SERVER_FORWARDED_ALLOW_IPS": "127.0.0.1"},
            "X-Forwarded-For and X-Forwarded-Proto are trusted from 127.0.0.1",
            401,
        ),
    ],
    ids=["default", "proxy-configured"],
)
def test_forwarded_for_counts_only_from_a_configured_proxy(
    tmp_path: Path, settings: dict[str, str], logged: str, second_status: int
) -> None:
    # one failure per address is the limit; accounts are far from theirs
    limits = {"IDP_LOGIN_ADDRESS_LIMIT": "1", "IDP_FACTORS_REQUIRED": "false"}
    with live_server(tmp_path, settings={**limits, **settings}, log_level="info") as server:
        client = server.add_client("rp", redirect_uris=[CALLBACK], grants=["authorization_code"])
        first = failed_login(server.issuer, client["client_id"], "anna", "203.0.113.7")
        second = failed_login(server.issuer, client["client_id"], "bert", "198.51.100.7")
        log = server.log()

    assert first == 401
    assert second == second_status
    assert log.count("server.forwarded_allow_ips") == 1 and logged in log, log
