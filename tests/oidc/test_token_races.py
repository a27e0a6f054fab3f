"""Requests that race for one code or refresh token, on each store: one wins, the others
are told the grant was used, what the grant issued is revoked, and only the winner's
tokens are counted as issued."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from idp.app import create_app
from tests.conftest import ISSUER, RP, make_settings

from .helpers import ALL_SCOPES, Env, exchange, introspect, login, token_error

RACERS = 10


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Env]:
    extra = {}
    if request.param == "postgresql":
        extra["IDP_STORE_URL"] = request.getfixturevalue("postgres_url")
    settings = make_settings(tmp_path, **extra)
    app = create_app(settings)
    with TestClient(app, base_url=ISSUER, follow_redirects=False) as client:
        env = Env(app, client, settings)
        env.add_user()
        env.add_client()
        yield env


def _race(env: Env, form: dict[str, str]) -> list[httpx.Response]:
    """`form` posted to the token endpoint by RACERS requests at once."""

    async def at_once() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=env.app)
        async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as client:
            posts = (client.post("/token", data=form, auth=("rp", "s3cret")) for _ in range(RACERS))
            return list(await asyncio.gather(*posts))

    answers: list[httpx.Response] = env.run(at_once)
    return answers


def _issued(env: Env, grant_type: str) -> float:
    labels = {"grant_type": grant_type, "client_id": "rp"}
    value = env.provider.metrics.registry.get_sample_value("idp_tokens_issued_total", labels)
    return value or 0.0


def _one_winner(answers: list[httpx.Response]) -> dict[str, str]:
    assert sorted(a.status_code for a in answers) == [200] + [400] * (RACERS - 1)
    losers = [a for a in answers if a.status_code == 400]
    assert {token_error(a) for a in losers} == {"invalid_grant"}
    [winner] = [a.json() for a in answers if a.status_code == 200]
    return winner


def test_a_code_raced_for_gives_one_set_of_tokens_and_then_revokes_it(any_store: Env) -> None:
    env = any_store
    code = login(env, scope=ALL_SCOPES)["code"]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": RP}

    winner = _one_winner(_race(env, form))

    # the code was presented more than once: what it gave is revoked (RFC 6749 4.1.2)
    assert introspect(env, winner["access_token"]).json() == {"active": False}
    assert token_error(_refresh(env, winner["refresh_token"])) == "invalid_grant"
    assert _issued(env, "authorization_code") == 1


def test_a_refresh_token_raced_for_rotates_once_and_then_revokes_the_family(
    any_store: Env,
) -> None:
    env = any_store
    code = login(env, scope=ALL_SCOPES)["code"]
    first = exchange(env, code).json()
    form = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}

    winner = _one_winner(_race(env, form))

    assert introspect(env, winner["access_token"]).json() == {"active": False}
    assert token_error(_refresh(env, winner["refresh_token"])) == "invalid_grant"
    assert _issued(env, "refresh_token") == 1


def _refresh(env: Env, refresh_token: str) -> httpx.Response:
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    answer: httpx.Response = env.client.post("/token", data=form, auth=("rp", "s3cret"))
    return answer
