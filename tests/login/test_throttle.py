"""Brute force: attempts are slowed, then refused for a while; counts survive a restart."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from idp.app import create_app
from tests.conftest import ISSUER, Env, authorize, make_settings, submit_password


def _attempt(env: Env, password: str = "wrong password", username: str = "alice") -> int:
    response = authorize(env)
    location = response.headers["location"]
    status: int = submit_password(env, location, username, password).status_code
    return status


def _throttled_env(tmp_path: Path) -> tuple[object, Env]:
    settings = make_settings(
        tmp_path,
        IDP_LOGIN_SLOW_AFTER="100",
        IDP_LOGIN_ACCOUNT_LIMIT="3",
        IDP_LOGIN_ADDRESS_LIMIT="5",
    )
    app = create_app(settings)
    return app, Env(app, TestClient(app, base_url=ISSUER, follow_redirects=False), settings)


def test_account_is_refused_after_the_limit_even_with_the_right_password(
    tmp_path: Path,
) -> None:
    _, env = _throttled_env(tmp_path)
    with env.client:
        env.add_client()
        env.add_user()
        assert [_attempt(env) for _ in range(3)] == [401, 401, 401]
        response = submit_password(env, authorize(env).headers["location"])
        assert response.status_code == 429
        assert "Too many failed attempts" in response.text
        assert "idp_session" not in env.client.cookies


def test_the_count_survives_a_restart(tmp_path: Path) -> None:
    _, env = _throttled_env(tmp_path)
    with env.client:
        env.add_client()
        env.add_user()
        for _ in range(3):
            _attempt(env)
    _, restarted = _throttled_env(tmp_path)
    with restarted.client:
        response = submit_password(restarted, authorize(restarted).headers["location"])
        assert response.status_code == 429


def test_one_address_is_refused_across_accounts(tmp_path: Path) -> None:
    _, env = _throttled_env(tmp_path)
    with env.client:
        env.add_client()
        env.add_user()
        statuses = [_attempt(env, username=f"user{i}") for i in range(5)]
        assert statuses == [401] * 5
        assert _attempt(env, username="alice") == 429


def test_slow_down_before_refusal(tmp_path: Path) -> None:
    import time

    settings = make_settings(tmp_path, IDP_LOGIN_SLOW_AFTER="1", IDP_LOGIN_DELAY_STEP="0.4")
    app = create_app(settings)
    env = Env(app, TestClient(app, base_url=ISSUER, follow_redirects=False), settings)
    with env.client:
        env.add_client()
        env.add_user()
        _attempt(env)
        started = time.monotonic()
        _attempt(env)
        assert time.monotonic() - started >= 0.4


def test_success_resets_the_account_count(env: Env) -> None:
    env.add_client()
    env.add_user()
    _attempt(env)
    assert env.store.count("login-fail:user:alice") == 1
    assert _attempt(env, password="correct horse battery") == 303
    assert env.store.count("login-fail:user:alice") == 0
