"""Signing keys: published in the JWKS, persisted, rotated without breaking issued tokens."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from idp.app import create_app
from idp.keys import KeyRing
from idp.store.sqlite import SqliteStore
from tests.conftest import make_settings

from .helpers import (
    ISSUER,
    Env,
    authorize,
    code_flow,
    jwt_parts,
    redirect_query,
    verify_jwt,
)


@pytest.fixture(autouse=True)
def _registered(env: Env) -> None:
    env.add_user()
    env.add_client()
    env.add_client("ec", secret="ec-secret", id_token_signed_response_alg="ES256")


def published_kids(env: Env) -> list[str]:
    return [k["kid"] for k in env.client.get("/jwks").json()["keys"]]


def kid_of(token: str) -> str:
    return str(jwt_parts(token)[0]["kid"])


def test_rotation_signs_with_the_new_key_and_keeps_the_old_one_published(env: Env) -> None:
    old_token = code_flow(env)["id_token"]
    old_kid = kid_of(old_token)

    new_keys = env.run(env.provider.keys.rotate)  # what `idp keys rotate` does

    new_rs256 = next(k.kid for k in new_keys if k.alg == "RS256")
    new_token = code_flow(env)["id_token"]
    assert kid_of(new_token) == new_rs256 != old_kid
    kids = published_kids(env)
    assert old_kid in kids and new_rs256 in kids
    assert kids.index(new_rs256) < kids.index(old_kid)  # newest first
    assert verify_jwt(env, old_token)["sub"] == verify_jwt(env, new_token)["sub"]


def test_rotation_covers_es256_too(env: Env) -> None:
    old_kid = kid_of(code_flow(env, client_id="ec", secret="ec-secret")["id_token"])

    env.run(env.provider.keys.rotate)

    token = code_flow(env, client_id="ec", secret="ec-secret")["id_token"]
    assert jwt_parts(token)[0]["alg"] == "ES256"
    assert kid_of(token) != old_kid
    assert old_kid in published_kids(env)
    verify_jwt(env, token)


def test_rotating_one_algorithm_leaves_the_other_alone(env: Env) -> None:
    es_kid = kid_of(code_flow(env, client_id="ec", secret="ec-secret")["id_token"])
    rs_kid = kid_of(code_flow(env)["id_token"])

    env.run(env.provider.keys.rotate, ("RS256",))

    assert kid_of(code_flow(env, client_id="ec", secret="ec-secret")["id_token"]) == es_kid
    assert kid_of(code_flow(env)["id_token"]) != rs_kid


def test_old_keys_stay_until_every_token_they_signed_has_expired(env: Env) -> None:
    old_kid = kid_of(code_flow(env)["id_token"])

    env.run(env.provider.keys.rotate)

    old = next(k for k in env.store.list_keys() if k.kid == old_kid)
    ttl = max(env.settings.tokens.id_token_ttl, env.settings.tokens.access_token_ttl)
    assert old.retire_at is not None and old.retire_at >= time.time() + ttl


def test_retired_keys_leave_the_jwks(env: Env) -> None:
    old_kid = kid_of(code_flow(env)["id_token"])
    env.run(env.provider.keys.rotate, ("RS256",))
    assert len(published_kids(env)) == 3

    old = next(k for k in env.store.list_keys() if k.kid == old_kid)
    env.store.update_key(replace(old, retire_at=int(time.time()) - 1))  # its time has come
    env.run(env.provider.keys.load)  # as the server does every RELOAD_SECONDS

    assert old_kid not in published_kids(env)
    assert len(published_kids(env)) == 2


def test_an_old_id_token_still_works_as_a_hint_after_rotation(env: Env) -> None:
    old_token = code_flow(env)["id_token"]
    env.run(env.provider.keys.rotate)

    query = redirect_query(authorize(env, prompt="none", id_token_hint=old_token))

    assert "code" in query


def test_rotated_keys_are_persisted(tmp_path: Path, env: Env) -> None:
    env.run(env.provider.keys.rotate)
    before = published_kids(env)

    with TestClient(create_app(make_settings(tmp_path)), base_url=ISSUER) as restarted:
        after = [k["kid"] for k in restarted.get("/jwks").json()["keys"]]

    assert len(before) == 4
    assert after == before


def test_keys_rotated_by_another_process_are_published(
    env: Env, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # `idp keys rotate` runs beside the server on the same store; the server reloads
    monkeypatch.setattr("idp.keys.RELOAD_SECONDS", 0.05)
    app = create_app(make_settings(tmp_path))
    with TestClient(app, base_url=ISSUER, follow_redirects=False) as client:
        served = Env(client.app, client, env.settings)  # on the env's store: "rp" is there
        published = set(published_kids(served))
        other_process = SqliteStore(tmp_path / "idp.sqlite3")
        asyncio.run(KeyRing(other_process, env.settings).rotate())
        other_process.close_now()

        deadline = time.monotonic() + 5
        while set(published_kids(served)) == published and time.monotonic() < deadline:
            time.sleep(0.05)
        assert published < set(published_kids(served))
        token = code_flow(served)["id_token"]
        assert kid_of(token) not in published
        verify_jwt(served, token)
