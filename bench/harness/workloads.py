"""The workloads, in the order they run and are reported."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Workload:
    name: str
    title: str
    concurrencies: tuple[int, ...]
    setup_per_worker_s: float = 0.0  # allowance for untimed per-worker setup
    #: sign-ins that hash a password take ~0.1-1 s each: measure them longer
    min_duration_s: float = 0.0
    #: measured on our IdP alone: the peer has no such step
    ours_only: bool = False


SIMPLE = (1, 32)
LOGINS = (1, 8)

WORKLOADS: tuple[Workload, ...] = (
    Workload("discovery", "GET discovery document", SIMPLE),
    Workload("jwks", "GET JWKS", SIMPLE),
    Workload("cc_opaque", "client_credentials, opaque access token", SIMPLE),
    Workload("cc_jwt", "client_credentials, JWT access token", SIMPLE),
    Workload("introspect", "introspect an opaque access token", SIMPLE),
    Workload("refresh", "refresh-token rotation", SIMPLE, setup_per_worker_s=2.0),
    Workload(
        "login",
        "code+PKCE sign-in through the form, ID token checked",
        LOGINS,
        setup_per_worker_s=2.0,
        min_duration_s=3.0,
    ),
    Workload(
        "login_argon2",
        "code+PKCE sign-in through the form, both servers verifying one argon2id hash",
        LOGINS,
        setup_per_worker_s=2.0,
        min_duration_s=3.0,
    ),
    Workload(
        "login_totp",
        "code+PKCE sign-in with password and authenticator-app code (ours only)",
        LOGINS,
        setup_per_worker_s=5.0,
        min_duration_s=3.0,
        ours_only=True,
    ),
    Workload(
        "login_sso",
        "code+PKCE with an existing SSO session",
        LOGINS,
        setup_per_worker_s=2.0,
    ),
)

BY_NAME = {w.name: w for w in WORKLOADS}


def select(only: str | None) -> list[Workload]:
    if not only:
        return list(WORKLOADS)
    names = [n.strip() for n in only.split(",") if n.strip()]
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        raise SystemExit(
            f"unknown workload(s): {', '.join(unknown)}; choose from {', '.join(BY_NAME)}"
        )
    return [BY_NAME[n] for n in names]
