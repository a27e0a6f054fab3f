"""The admin API through HTTP, with a real access token: a client registered with the
`admin` scope asks the token endpoint for one by client_credentials."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from idp.admin.clients import ClientAdmin
from tests.conftest import Env

API = "/admin/api/v1"


def admin_client(env: Env, scope: str = "admin") -> tuple[str, str]:
    """A confidential client_credentials client with `scope`; its id and secret."""
    registered = env.run(
        ClientAdmin(env.provider.store, env.provider.audit.acting("cli")).register,
        {"name": "Partner", "grant_types": ["client_credentials"], "scopes": scope.split()},
    )
    return registered.client.client_id, registered.secret


def client_token(env: Env, client_id: str, secret: str, scope: str | None = "admin") -> str:
    form = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}
    answer = env.client.post("/token", data=form, auth=(client_id, secret))
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token


@dataclass
class AdminApi:
    env: Env
    token: str

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return self.env.client.request(method, API + path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.call("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Any:
        return self.call("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.call("DELETE", path, **kwargs)


@pytest.fixture
def api(env: Env) -> Iterator[AdminApi]:
    client_id, secret = admin_client(env)
    yield AdminApi(env, client_token(env, client_id, secret))


def refused(answer: Any, status: int, field: str | None) -> dict[str, Any]:
    """The API's error form; its body."""
    assert answer.status_code == status, answer.text
    body: dict[str, Any] = answer.json()
    assert set(body) == {"error", "error_description", "field"}
    assert body["field"] == field, body
    return body
