"""Shared fixtures: a provider on a fresh sqlite file, clients, users, and a browser-like
HTTP client that follows the login through the real endpoints."""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import inspect
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.testclient import TestClient

from idp.app import create_app
from idp.oidc.models import hash_secret
from idp.passwords import Passwords
from idp.settings import PasswordSettings, Settings, StoreSettings, load_settings
from idp.store import Client, User, open_store

pytest_plugins = ["pytester", "tests.servers.fixtures"]

ISSUER = "https://idp.test"
RP = "https://rp.test/cb"
PASSWORD = "correct horse battery"
#: cheap argon2id parameters for tests; the production ones are in settings.py
FAST_PASSWORDS = PasswordSettings(time_cost=1, memory_cost=8 * 1024, parallelism=1)


def make_settings(tmp_path: Path, **env: str) -> Settings:
    environ = {
        "IDP_SERVER_ISSUER": ISSUER,
        "IDP_STORE_PATH": str(tmp_path / "idp.sqlite3"),
        "IDP_PASSWORDS_TIME_COST": "1",
        "IDP_PASSWORDS_MEMORY_COST": "8192",
        # the served app's audit lines would mix with what a test reads from stdout
        "IDP_AUDIT_OUTPUT": "off",
        **env,
    }
    return load_settings(None, environ)


class Blocking:
    """An object whose coroutine methods run to their end when called, for test code that
    runs no event loop: on the test client's loop while it is open (so the store is used
    by the thread the app uses it from), else on a loop of their own."""

    def __init__(self, target: Any, client: TestClient | None) -> None:
        self._target = target
        self._client = client

    def _run(self, fn: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> Any:
        portal = getattr(self._client, "portal", None)
        if portal is not None:
            return portal.call(functools.partial(fn, *args, **kwargs))
        return asyncio.run(_awaited(fn(*args, **kwargs)))

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if inspect.iscoroutinefunction(attr):
            return functools.partial(self._run, attr)
        if name == "records":
            return lambda namespace: Blocking(attr(namespace), self._client)
        return attr


def open_blocking(settings: StoreSettings) -> Any:
    """The store of these settings, for test code that runs no event loop."""
    return Blocking(open_store(settings), None)


async def _awaited(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


@dataclass
class Env:
    app: Any
    client: TestClient
    settings: Settings

    @property
    def provider(self) -> Any:
        return self.app.state.provider

    @property
    def store(self) -> Any:
        """The provider's store, each call run to its end (see Blocking)."""
        return Blocking(self.provider.store, self.client)

    def run(self, fn: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> Any:
        """Await `fn(*args, **kwargs)` where the store is used, and return its result."""
        return Blocking(None, self.client)._run(fn, *args, **kwargs)

    def add_user(self, username: str = "alice", password: str = PASSWORD, **fields: Any) -> User:
        now = int(time.time())
        user = User(
            sub=str(uuid.uuid4()),
            username=username,
            password_hash=Passwords(FAST_PASSWORDS).hash(password),
            name=fields.pop("name", "Alice Example"),
            email=fields.pop("email", f"{username}@example.org"),
            email_verified=fields.pop("email_verified", True),
            locale=fields.pop("locale", "en"),
            created_at=now,
            updated_at=now,
            **fields,
        )
        self.store.add_user(user)
        return user

    def add_client(
        self, client_id: str = "rp", secret: str | None = "s3cret", **fields: Any
    ) -> Client:
        base = Client(
            client_id=client_id,
            name=fields.pop("name", "Test RP"),
            redirect_uris=fields.pop("redirect_uris", (RP,)),
            secret_hash=hash_secret(secret) if secret else "",
            first_party=fields.pop("first_party", True),
            post_logout_redirect_uris=fields.pop(
                "post_logout_redirect_uris", ("https://rp.test/bye",)
            ),
            mfa=fields.pop("mfa", "optional"),
        )
        client = replace(base, **fields)
        self.store.add_client(client)
        return client


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    settings = make_settings(tmp_path)
    app = create_app(settings)
    with TestClient(app, base_url=ISSUER, follow_redirects=False) as client:
        yield Env(app, client, settings)


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def hidden_inputs(html: str) -> dict[str, str]:
    import re

    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))


def authorize(env: Env, **params: str) -> Any:
    query = {
        "response_type": "code",
        "client_id": "rp",
        "redirect_uri": RP,
        "scope": "openid profile email",
        "state": "st4te",
        "nonce": "n0nce",
        **params,
    }
    return env.client.get("/authorize", params=query)


def submit_password(
    env: Env, login_location: str, username: str = "alice", password: str = PASSWORD
) -> Any:
    page = env.client.get(login_location)
    assert page.status_code == 200, page.text
    fields = hidden_inputs(page.text)
    return env.client.post(
        login_location,
        data={**fields, "username": username, "password": password, "action": "login"},
    )


def login(
    env: Env, username: str = "alice", password: str = PASSWORD, **params: str
) -> dict[str, str]:
    """Authorize, log in with the password, and return the redirect's query parameters."""
    response = authorize(env, **params)
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    if location.startswith("/login/"):
        response = submit_password(env, location, username, password)
        assert response.status_code == 303, response.text
        location = response.headers["location"]
    assert location.startswith(RP), location
    return query_of(location)


def exchange(
    env: Env, code: str, secret: str = "s3cret", client_id: str = "rp", **extra: str
) -> Any:
    return env.client.post(
        "/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": RP, **extra},
        auth=(client_id, secret),
    )
