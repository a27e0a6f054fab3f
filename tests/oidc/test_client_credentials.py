"""The client_credentials grant for service clients (RFC 6749 4.4)."""

from __future__ import annotations

import pytest

from .helpers import Env, introspect, token_error, userinfo


@pytest.fixture(autouse=True)
def _registered(env: Env) -> None:
    env.add_client()  # a regular relying party, allowed to introspect
    env.add_client(
        "service",
        secret="srv-secret",
        grant_types=("client_credentials",),
        scopes=("openid", "offline_access", "api:read", "api:write"),
    )


def client_credentials(env: Env, **data: str) -> dict:
    response = env.client.post(
        "/token",
        data={"grant_type": "client_credentials", **data},
        auth=("service", "srv-secret"),
    )
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    return response.json()


def test_service_client_gets_an_access_token_only(env: Env) -> None:
    token = client_credentials(env, scope="api:read")

    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == env.settings.tokens.access_token_ttl
    assert token["scope"] == "api:read"
    assert "refresh_token" not in token
    assert "id_token" not in token


def test_without_a_scope_the_client_gets_its_own_non_oidc_scopes(env: Env) -> None:
    token = client_credentials(env)

    assert token["scope"].split() == ["api:read", "api:write"]


def test_openid_and_offline_access_are_never_granted(env: Env) -> None:
    token = client_credentials(env, scope="openid offline_access api:write")

    assert token["scope"] == "api:write"
    assert "refresh_token" not in token


def test_the_token_introspects_active_without_a_user(env: Env) -> None:
    token = client_credentials(env, scope="api:read")

    info = introspect(env, token["access_token"]).json()

    assert info["active"] is True
    assert info["client_id"] == "service"
    assert info["scope"] == "api:read"
    assert "sub" not in info


def test_the_token_is_not_good_at_userinfo(env: Env) -> None:
    token = client_credentials(env, scope="api:read")

    response = userinfo(env, token["access_token"])

    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_client_secret_post_works_for_the_service_client(env: Env) -> None:
    env.add_client(
        "poster",
        secret="p0st",
        grant_types=("client_credentials",),
        scopes=("api:read",),
        token_endpoint_auth_method="client_secret_post",
    )

    response = env.client.post(
        "/token",
        data={"grant_type": "client_credentials", "client_id": "poster", "client_secret": "p0st"},
    )

    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "api:read"


def test_a_wrong_secret_is_401(env: Env) -> None:
    response = env.client.post(
        "/token", data={"grant_type": "client_credentials"}, auth=("service", "nope")
    )

    assert token_error(response, status=401) == "invalid_client"
    assert "www-authenticate" in response.headers


def test_a_client_without_the_grant_is_unauthorized_client(env: Env) -> None:
    response = env.client.post(
        "/token", data={"grant_type": "client_credentials"}, auth=("rp", "s3cret")
    )

    assert token_error(response) == "unauthorized_client"


def test_a_public_client_cannot_use_client_credentials(env: Env) -> None:
    env.add_client(
        "spa",
        secret=None,
        public=True,
        token_endpoint_auth_method="none",
        grant_types=("client_credentials",),
    )

    response = env.client.post(
        "/token", data={"grant_type": "client_credentials", "client_id": "spa"}
    )

    assert token_error(response, status=401) == "invalid_client"
