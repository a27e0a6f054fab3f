"""The application: POST to the OAuth endpoints is answered before middleware and routing,
with the same answers, errors included, as through them."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from idp.app import create_app
from idp.oidc import adapter

from .conftest import ISSUER, Env, make_settings


class PathRecorder:
    """A middleware that notes the path of every HTTP request it sees."""

    def __init__(self, app: ASGIApp, seen: list[str]) -> None:
        self.app = app
        self.seen = seen

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.seen.append(f"{scope['method']} {scope['path']}")
        await self.app(scope, receive, send)


@pytest.fixture
def recorded(tmp_path: Path) -> Iterator[tuple[Env, list[str]]]:
    settings = make_settings(tmp_path)
    app = create_app(settings)
    seen: list[str] = []
    app.add_middleware(PathRecorder, seen=seen)
    with TestClient(app, base_url=ISSUER, follow_redirects=False) as client:
        env = Env(app, client, settings)
        env.add_client("service", secret="srv", grant_types=("client_credentials",))
        yield env, seen


def service_token(client: TestClient, url: str = "/token") -> str:
    response = client.post(url, data={"grant_type": "client_credentials"}, auth=("service", "srv"))
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def test_oauth_posts_skip_the_middleware_and_the_rest_goes_through_it(
    recorded: tuple[Env, list[str]],
) -> None:
    env, seen = recorded
    token = service_token(env.client)
    introspected = env.client.post("/introspect", data={"token": token}, auth=("service", "srv"))
    revoked = env.client.post("/revoke", data={"token": token}, auth=("service", "srv"))
    discovery = env.client.get("/.well-known/openid-configuration")
    wrong_method = env.client.get("/token")

    assert introspected.json()["active"] is True
    assert revoked.status_code == 200
    assert discovery.status_code == 200
    assert wrong_method.status_code == 405
    assert seen == ["GET /.well-known/openid-configuration", "GET /token"]


def test_the_token_endpoint_is_found_under_a_root_path(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    app = create_app(settings)
    with TestClient(app, base_url=ISSUER, root_path="/idp") as client:
        Env(app, client, settings).add_client(
            "service", secret="srv", grant_types=("client_credentials",)
        )
        token = service_token(client, "/idp/token")
        unknown = client.post("/idp/tokens", data={"grant_type": "client_credentials"})

    assert token
    assert unknown.status_code == 404
    assert unknown.json()["error"] == "invalid_request"


def test_a_form_that_cannot_be_read_is_invalid_request_json(env: Env) -> None:
    response = env.client.post(
        "/token",
        content=b"--nope\r\nnot a part",
        headers={"content-type": "multipart/form-data; boundary=nope"},
    )

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"] == "invalid_request"


def test_an_unexpected_failure_before_the_grant_is_server_error_json(
    env: Env, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(request: object) -> list[tuple[str, str]]:
        raise RuntimeError("the body went missing")

    monkeypatch.setattr(adapter, "read_form", broken)
    with caplog.at_level(logging.ERROR, logger="idp"):
        response = env.client.post("/token", data={"grant_type": "client_credentials"})

    assert response.status_code == 500
    assert response.json() == {"error": "server_error"}
    assert "the body went missing" in caplog.text
