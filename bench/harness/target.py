"""What the driver needs to know about a server under test."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

USERNAME = "bench"
#: the peer's account for login_argon2, whose password it checks with argon2id; on our
#: IdP every password is an argon2id hash, so there the account is USERNAME's
ARGON2_USERNAME = "bench-argon2"
#: users with an authenticator app for login_totp: each gives at most two sign-ins
#: per 30-second step, so enough for a few hundred argon2id-bound sign-ins a minute
TOTP_USERS = 150
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
class Account:
    username: str
    password: str

    def as_json(self) -> dict[str, str]:
        return {"username": self.username, "password": self.password}


@dataclass(frozen=True)
class Target:
    """An OpenID provider reachable at issuer, with the benchmark's clients.

    clients holds "web" (confidential, code + refresh, no second factor
    needed), "service" (client credentials, opaque access tokens) and
    "service_jwt" (client credentials, JWT access tokens); ours also has
    "web_mfa", which requires the second factor, and `totp`: the users of
    login_totp, with what the driver learnt of them (their authenticator-app
    secrets and the last time step each used), carried from run to run.
    argon2_user is the account of login_argon2, whose password the target
    checks with one argon2id verify.
    """

    name: str
    issuer: str
    clients: dict[str, Client]
    username: str
    password: str
    pid: int | None = None
    notes: list[str] = field(default_factory=list)
    totp: dict[str, Any] | None = None
    argon2_user: Account | None = None

    def driver_spec(self) -> dict[str, Any]:
        spec = {
            "issuer": self.issuer,
            "clients": {role: c.as_json() for role, c in self.clients.items()},
            "user": {"username": self.username, "password": self.password},
            "scope": LOGIN_SCOPE,
        }
        if self.totp is not None:
            spec["totp"] = self.totp
        if self.argon2_user is not None:
            spec["argon2_user"] = self.argon2_user.as_json()
        return spec


def new_password() -> str:
    return "bench-" + secrets.token_urlsafe(12)


def redirect_uri() -> str:
    """A redirect URI on loopback that nothing listens on: the driver stops
    at the redirect and never requests it."""
    return "http://127.0.0.1:9" + REDIRECT_PATH
