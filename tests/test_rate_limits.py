"""Rate limits ([rate_limits]) through HTTP: the request past the limit of its window is
answered 429 with Retry-After, in the form its caller reads, and no other client or
address is affected."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from idp.app import create_app
from tests.admin_api.conftest import API, admin_client, client_token
from tests.conftest import ISSUER, Env, make_settings

LIMIT = 3
#: the proxy the test client connects as; the address it forwards is the one counted
PROXY = "10.0.0.9"
WINDOW = 86_400  # one window for the whole test, so that none begins in its middle


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    limits = {
        f"IDP_RATE_LIMITS_{kind}": str(LIMIT)
        for kind in ("TOKEN", "LOGIN", "DEVICE_API", "ADMIN_API")
    }
    settings = make_settings(
        tmp_path,
        IDP_FACTORS_ENABLED="pocket",
        IDP_RATE_LIMITS_WINDOW=str(WINDOW),
        IDP_SERVER_FORWARDED_ALLOW_IPS=PROXY,
        **limits,
    )
    app = create_app(settings)
    with TestClient(app, base_url=ISSUER, follow_redirects=False, client=(PROXY, 40000)) as client:
        env = Env(app, client, settings)
        env.add_client("rp", secret="s3cret")
        env.add_client("other", secret="s3cret")
        yield env


def from_address(address: str, **headers: str) -> dict[str, str]:
    return {"X-Forwarded-For": address, **headers}


def assert_retry_after(response: Any) -> None:
    assert response.status_code == 429, response.text
    assert 1 <= int(response.headers["retry-after"]) <= WINDOW


def test_the_token_endpoints_limit_each_client_on_the_fast_path(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the token, introspection and revocation endpoints are answered before Starlette's
    # middleware and routing (IdPApp): with those gone, they are still limited
    def no_router(*args: Any) -> None:
        raise AssertionError("answered through the router")

    monkeypatch.setattr(Starlette, "__call__", no_router)
    form = {"grant_type": "client_credentials"}
    answers = [
        env.client.post("/token", data=form, auth=("rp", "s3cret")),
        env.client.post("/introspect", data={"token": "x"}, auth=("rp", "s3cret")),
        env.client.post("/revoke", data={"token": "x", "client_id": "rp"}),
    ]
    assert [a.status_code for a in answers if a.status_code == 429] == []

    for path in ("/token", "/introspect", "/revoke"):
        refused = env.client.post(path, data={**form, "token": "x"}, auth=("rp", "s3cret"))
        assert_retry_after(refused)
        assert refused.json() == {
            "error": "temporarily_unavailable",
            "error_description": "Too many requests from this client; try again after"
            " Retry-After seconds.",
        }
        assert refused.headers["cache-control"] == "no-store"
    # another client has its own count
    other = env.client.post("/token", data=form, auth=("other", "s3cret"))
    assert other.status_code != 429, other.text


def test_the_password_page_limits_each_address(env: Env) -> None:
    here = from_address("192.0.2.1", **{"Accept-Language": "nl"})
    assert env.client.get("/login/unknown", headers=here).status_code != 429
    assert env.client.post("/login/unknown", headers=here).status_code != 429
    assert env.client.get("/login/unknown", headers=here).status_code != 429

    for refused in (
        env.client.post("/login/unknown", headers=here),
        env.client.get("/login/unknown", headers=here),
    ):
        assert_retry_after(refused)
        assert refused.headers["content-type"].startswith("text/html")
        assert "Te veel verzoeken" in refused.text  # the visitor's language
    elsewhere = env.client.get("/login/unknown", headers=from_address("192.0.2.2"))
    assert elsewhere.status_code != 429
    english = env.client.get("/login/unknown", headers=here | {"Accept-Language": "en"})
    assert "Too many requests" in english.text


def test_the_device_api_limits_each_address(env: Env) -> None:
    path = "/factors/pocket/api/v1/challenges"
    here = from_address("192.0.2.1")
    for _ in range(LIMIT):
        assert env.client.get(path, headers=here).status_code == 401  # no device token

    refused = env.client.get(path, headers=here)
    assert_retry_after(refused)
    body = refused.json()
    assert body["error"] == "too_many_requests" and "too many requests" in body["error_description"]
    assert env.client.get(path, headers=from_address("192.0.2.2")).status_code == 401


def test_the_device_apis_429_is_the_one_its_openapi_document_describes(env: Env) -> None:
    api = "/factors/pocket/api/v1"
    here = from_address("192.0.2.3")
    document = env.client.get(f"{api}/openapi.json", headers=here).json()  # not counted
    operations = {
        (path, method): operation
        for path, methods in document["paths"].items()
        if path != "/openapi.json"
        for method, operation in methods.items()
    }
    for (path, method), operation in operations.items():
        limited = operation["responses"].get("429")
        assert limited is not None, (path, method)
        assert set(limited["headers"]) == {"Retry-After"}
        schema = limited["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/Error"}

    for _ in range(LIMIT):
        assert env.client.delete(f"{api}/device", headers=here).status_code == 401
    refused = env.client.delete(f"{api}/device", headers=here)
    assert_retry_after(refused)
    error = document["components"]["schemas"]["Error"]
    assert set(refused.json()) == set(error["required"])
    assert refused.json()["error"] == "too_many_requests"


def test_the_admin_api_limits_each_client(env: Env) -> None:
    first = client_token(env, *admin_client(env))
    second = client_token(env, *admin_client(env))

    def users(token: str) -> Any:
        return env.client.get(API + "/users", headers={"Authorization": f"Bearer {token}"})

    for _ in range(LIMIT):
        assert users(first).status_code == 200
    refused = users(first)
    assert_retry_after(refused)
    assert refused.json()["error"] == "temporarily_unavailable"
    assert users(second).status_code == 200


def test_a_limit_of_zero_is_off(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, IDP_RATE_LIMITS_TOKEN="0")
    with TestClient(create_app(settings), base_url=ISSUER) as client:
        for _ in range(5):
            answer = client.post("/token", data={"grant_type": "client_credentials"})
            assert answer.status_code == 401
