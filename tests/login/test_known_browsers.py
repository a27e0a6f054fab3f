"""A stranger's failures lock out unknown browsers only: a browser that logged in to the
account before keeps an allowance of its own (device cookies)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from idp.app import create_app
from idp.login.known_browsers import DEVICE_COOKIE
from tests.conftest import ISSUER, PASSWORD, Env, authorize, make_settings, submit_password


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[Env]:
    settings = make_settings(
        tmp_path,
        IDP_LOGIN_SLOW_AFTER="100",
        IDP_LOGIN_ACCOUNT_LIMIT="3",
        IDP_LOGIN_ADDRESS_LIMIT="100",
    )
    app = create_app(settings)
    with TestClient(app, base_url=ISSUER, follow_redirects=False) as client:
        env = Env(app, client, settings)
        env.add_client()
        env.add_user()
        yield env


def _browser(env: Env) -> Env:
    """Another browser on the same IdP, with cookies of its own."""
    return Env(env.app, TestClient(env.app, base_url=ISSUER, follow_redirects=False), env.settings)


def _attempt(env: Env, password: str, username: str = "alice") -> int:
    location = authorize(env).headers["location"]
    status: int = submit_password(env, location, username, password).status_code
    return status


def _log_out(env: Env) -> None:
    env.client.cookies.delete("idp_session")


def test_the_owners_known_browser_logs_in_while_a_stranger_has_locked_the_account(
    limited: Env,
) -> None:
    owner = limited
    assert _attempt(owner, PASSWORD) == 303
    assert owner.client.cookies.get(DEVICE_COOKIE)
    _log_out(owner)

    stranger = _browser(limited)
    assert [_attempt(stranger, "guess") for _ in range(3)] == [401, 401, 401]
    assert _attempt(stranger, "guess") == 429
    assert _attempt(stranger, PASSWORD) == 429  # unknown browsers stay locked out

    assert _attempt(owner, PASSWORD) == 303


def test_a_known_browser_has_its_own_limited_allowance(limited: Env) -> None:
    owner = limited
    assert _attempt(owner, PASSWORD) == 303
    _log_out(owner)
    assert [_attempt(owner, "typo") for _ in range(3)] == [401, 401, 401]
    assert _attempt(owner, PASSWORD) == 429
    # the owner's mistakes are the owner's: unknown browsers keep their own allowance
    assert _attempt(_browser(limited), PASSWORD) == 303


def test_a_browser_is_known_only_to_the_accounts_that_logged_in_with_it(limited: Env) -> None:
    limited.add_user("bob")
    owner = limited
    assert _attempt(owner, PASSWORD) == 303
    _log_out(owner)
    stranger = _browser(limited)
    for _ in range(3):
        _attempt(stranger, "guess", username="bob")
    # alice's browser is not bob's: it shares the strict allowance for bob
    assert _attempt(owner, PASSWORD, username="bob") == 429


@pytest.mark.parametrize("value", ["forged-value", ""])
def test_a_forged_device_cookie_counts_as_an_unknown_browser(limited: Env, value: str) -> None:
    stranger = _browser(limited)
    for _ in range(3):
        _attempt(stranger, "guess")
    forger = _browser(limited)
    forger.client.cookies.set(DEVICE_COOKIE, value)
    assert _attempt(forger, PASSWORD) == 429


def test_one_device_cookie_serves_every_account_of_the_browser(limited: Env) -> None:
    limited.add_user("bob")
    owner = limited
    assert _attempt(owner, PASSWORD) == 303
    first = owner.client.cookies.get(DEVICE_COOKIE)
    _log_out(owner)
    assert _attempt(owner, PASSWORD, username="bob") == 303
    assert owner.client.cookies.get(DEVICE_COOKIE) == first
    _log_out(owner)
    stranger = _browser(limited)
    for name in ("alice", "bob"):
        for _ in range(3):
            _attempt(stranger, "guess", username=name)
    assert _attempt(owner, PASSWORD) == 303
    _log_out(owner)
    assert _attempt(owner, PASSWORD, username="bob") == 303
