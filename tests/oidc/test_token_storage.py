"""How the token endpoint stores what it issues: token requests of one turn of the event
loop share a commit and answer only once it landed; tokens are keyed in the order they
were issued, and tokens from before that scheme keep working."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import time

import httpx
import pytest

from idp.oidc.models import new_token, token_id
from tests.failing_commit import commits_fail

from .helpers import ISSUER, Env, code_flow, introspect, jwt_parts, refresh, revoke, userinfo

SERVICE = ("service", "srv-secret")


@pytest.fixture(autouse=True)
def _registered(env: Env) -> None:
    env.add_user()
    env.add_client()
    env.add_client("service", secret="srv-secret", grant_types=("client_credentials",))


def token_requests(
    env: Env,
    count: int,
    data: dict[str, str] | None = None,
    auth: tuple[str, str] = SERVICE,
) -> list[httpx.Response]:
    """`count` token requests at once, on an event loop in this thread (so that this
    thread's store connection sees their statements)."""
    form = data or {"grant_type": "client_credentials"}

    async def main() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=env.app)
        async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as client:
            requests = [client.post("/token", data=form, auth=auth) for _ in range(count)]
            return list(await asyncio.gather(*requests))

    return asyncio.run(main())


def count_commits(env: Env) -> list[str]:
    commits: list[str] = []
    env.provider.store._thread().writer.set_trace_callback(
        lambda sql: commits.append(sql) if sql == "COMMIT" else None
    )
    return commits


def stored_keys(env: Env, model: str) -> list[str]:
    raw = sqlite3.connect(env.settings.store.path)
    try:
        rows = raw.execute(
            "SELECT key FROM records WHERE key LIKE ? ORDER BY rowid", (f"{model}:%",)
        )
        return [key.split(":", 1)[1] for (key,) in rows]
    finally:
        raw.close()


def test_requests_at_once_each_get_a_working_token(env: Env) -> None:
    responses = token_requests(env, 12)

    assert [r.status_code for r in responses] == [200] * 12
    tokens = {r.json()["access_token"] for r in responses}
    assert len(tokens) == 12
    for token in tokens:
        assert introspect(env, token).json()["active"] is True


def test_a_commit_that_fails_answers_server_error_and_issues_nothing(env: Env) -> None:
    with commits_fail(env.store, "disk I/O error"):
        responses = token_requests(env, 3)

    for response in responses:
        assert response.status_code == 500
        assert response.json()["error"] == "server_error"
        assert response.headers["cache-control"] == "no-store"
        assert "access_token" not in response.text
    assert stored_keys(env, "access_token") == []


def test_tokens_are_keyed_by_their_hash_and_tell_nothing_of_their_time(env: Env) -> None:
    responses = [
        env.client.post("/token", data={"grant_type": "client_credentials"}, auth=SERVICE)
        for _ in range(5)
    ]
    tokens = [r.json()["access_token"] for r in responses]
    keys = stored_keys(env, "access_token")
    assert keys == [hashlib.sha256(t.encode()).hexdigest() for t in tokens]
    assert all(len(t) == 43 for t in tokens)
    # tokens issued one after another share no leading time of issue
    assert len({t[:6] for t in tokens}) == 5


def test_a_refresh_token_with_a_time_stamp_still_works(env: Env) -> None:
    first = code_flow(env, scope="openid offline_access")
    new_style = first["refresh_token"]
    old_style = f"{time.time_ns() // 1_000_000:012x}{new_token()}"  # as issued before
    record = env.store.find("refresh_token", token_id(new_style))
    env.store.destroy("refresh_token", token_id(new_style))
    env.store.upsert(
        "refresh_token", token_id(old_style), record, expires_in=3600, grant_id=record["grant_id"]
    )
    assert token_id(old_style) == old_style[:12] + hashlib.sha256(old_style.encode()).hexdigest()

    response = refresh(env, old_style)
    assert response.status_code == 200, response.text
    assert userinfo(env, response.json()["access_token"]).status_code == 200
    assert refresh(env, old_style).json()["error"] == "invalid_grant"  # used up as before


def test_a_jwt_access_token_lands_in_the_grants_own_commit(env: Env) -> None:
    env.add_client("jwt-rp", secret="jwt", access_token_format="jwt")
    first = code_flow(env, client_id="jwt-rp", secret="jwt", scope="openid offline_access")
    commits = count_commits(env)

    form = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    [response] = token_requests(env, 1, form, auth=("jwt-rp", "jwt"))

    assert response.status_code == 200, response.text
    # the old refresh token used up, the new one and the access token stored: all at once
    # (the token endpoints' rate limit, which would count first, is off by default)
    assert commits == ["COMMIT"]
    access_token = response.json()["access_token"]
    jti = jwt_parts(access_token)[1]["jti"]
    assert env.store.find("access_token", token_id(jti)) is not None
    assert introspect(env, access_token).json()["active"] is True


def test_a_failed_commit_of_a_jwt_refresh_leaves_the_old_token_usable(env: Env) -> None:
    env.add_client("jwt-rp", secret="jwt", access_token_format="jwt")
    first = code_flow(env, client_id="jwt-rp", secret="jwt", scope="openid offline_access")

    form = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    with commits_fail(env.store):
        [failed] = token_requests(env, 1, form, auth=("jwt-rp", "jwt"))

    assert failed.status_code == 500
    assert failed.json()["error"] == "server_error"
    response = refresh(env, first["refresh_token"], client_id="jwt-rp", secret="jwt")
    assert response.status_code == 200, response.text
    assert userinfo(env, first["access_token"]).status_code == 200


def test_a_jwt_access_token_from_before_the_jti_keys_still_works(env: Env) -> None:
    env.add_client("jwt-rp", secret="jwt", access_token_format="jwt")
    access_token = code_flow(env, client_id="jwt-rp", secret="jwt")["access_token"]
    jti_key = token_id(jwt_parts(access_token)[1]["jti"])
    record = env.store.find("access_token", jti_key)
    env.store.destroy("access_token", jti_key)
    # as it was stored before: under the hash of the signed string
    env.store.upsert(
        "access_token", token_id(access_token), record, expires_in=3600, grant_id=record["grant_id"]
    )

    assert userinfo(env, access_token).status_code == 200
    assert introspect(env, access_token).json()["active"] is True
    assert revoke(env, access_token, client_id="jwt-rp", secret="jwt").status_code == 200
    assert introspect(env, access_token).json()["active"] is False


@pytest.mark.parametrize(
    "value",
    [
        "0000019abcdZ" + "x" * 43,  # a stamp that is not hex
        "0000019abcde" + "x" * 42,  # one character short
        "0000019ABCDE" + "x" * 43,  # upper case: never issued so
    ],
)
def test_only_a_stamped_token_keeps_its_stamp_in_the_key(value: str) -> None:
    assert token_id(value) == hashlib.sha256(value.encode()).hexdigest()


def test_a_new_token_is_keyed_by_its_hash_alone() -> None:
    value = new_token()
    assert token_id(value) == hashlib.sha256(value.encode()).hexdigest()
