"""Guesses sent all at once get no more password checks than the limits allow."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.conftest import PASSWORD, RP, Env, hidden_inputs
from tests.served_idp import post_at_once, served_idp


def _guess_at_once(url: str, passwords: list[str], browser: httpx.Client) -> list[int]:
    """From one pending login of `browser`, one POST per password, all at the same time."""
    query = {"response_type": "code", "client_id": "rp", "redirect_uri": RP, "scope": "openid"}
    login_url = browser.get("/authorize", params=query).headers["location"]
    fields = hidden_inputs(browser.get(login_url).text)
    forms = [{**fields, "username": "alice", "password": p, "action": "login"} for p in passwords]
    return post_at_once(url, browser.cookies, login_url, forms)


def _set_up(env: Env) -> None:
    env.add_client()
    env.add_user()


def test_parallel_guesses_run_no_more_verifies_than_the_account_limit(tmp_path: Path) -> None:
    limits = {"IDP_LOGIN_SLOW_AFTER": "100", "IDP_LOGIN_ACCOUNT_LIMIT": "10"}
    with served_idp(tmp_path, **limits) as (url, env), httpx.Client(base_url=url) as browser:
        _set_up(env)
        statuses = _guess_at_once(url, ["wrong password"] * 40, browser)
        after = _guess_at_once(url, [PASSWORD], browser)

    assert sorted(statuses) == [401] * 10 + [429] * 30
    assert after == [429]
    # the counts hold the failures that were checked, not the refused attempts
    assert env.store.count("login-fail:user:alice") == 10
    assert env.store.count("login-fail:addr:127.0.0.1") == 10


def test_parallel_guesses_from_one_address_stop_at_the_address_limit(tmp_path: Path) -> None:
    limits = {
        "IDP_LOGIN_SLOW_AFTER": "100",
        "IDP_LOGIN_ACCOUNT_LIMIT": "100",
        "IDP_LOGIN_ADDRESS_LIMIT": "7",
    }
    with served_idp(tmp_path, **limits) as (url, env), httpx.Client(base_url=url) as browser:
        _set_up(env)
        statuses = _guess_at_once(url, ["wrong password"] * 25, browser)

    assert sorted(statuses) == [401] * 7 + [429] * 18
    assert env.store.count("login-fail:addr:127.0.0.1") == 7
