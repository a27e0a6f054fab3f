"""What the driver needs to know about a server under test."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

USERNAME = "bench"
REDIRECT_PATH = "/bench/callback"
LOGIN_SCOPE = "openid profile email offline_access"


@dataclass(frozen=True)
class Client:
    client_id: str
    client_secret: str
    redirect_uri: str | None = None

    def as_json(self) -> dict[str, str]:
        data = {"client_id": self.client_id, "client_secret": self.client_secret}
        if self.redirect_uri:
            data["redirect_uri"] = self.redirect_uri
        return data


@dataclass(frozen=True)
class Target:
    """An OpenID provider reachable at issuer, with the benchmark's clients.

    clients holds "web" (confidential, code + refresh), "service" (client
    credentials, opaque access tokens) and "service_jwt" (client
    credentials, JWT access tokens).
    """

    name: str
    issuer: str
    clients: dict[str, Client]
    username: str
    password: str
    pid: int | None = None
    notes: list[str] = field(default_factory=list)

    def driver_spec(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "clients": {role: c.as_json() for role, c in self.clients.items()},
            "user": {"username": self.username, "password": self.password},
            "scope": LOGIN_SCOPE,
        }


def new_password() -> str:
    return "bench-" + secrets.token_urlsafe(12)


def redirect_uri() -> str:
    """A redirect URI on loopback that nothing listens on: the driver stops
    at the redirect and never requests it."""
    return "http://127.0.0.1:9" + REDIRECT_PATH
