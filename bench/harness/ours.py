"""Our IdP: provisioned with its own CLI, then served by `idp serve`."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from .paths import IDP_BIN, IDP_CONFIG, LOG_DIR, REPO
from .procs import Server, free_port, start_server
from .target import (
    LOGIN_SCOPE,
    TOTP_USERS,
    USERNAME,
    Account,
    Client,
    Target,
    new_password,
    redirect_uri,
)


class ProvisionError(RuntimeError):
    pass


#: one client and one address send the whole load: the limits that are on by default
#: still count its requests (that cost is measured), but never refuse one; the token
#: endpoints' limit stays off, as by default
BENCH_RATE_LIMITS = {
    f"IDP_RATE_LIMITS_{kind}": "1000000000" for kind in ("LOGIN", "DEVICE_API", "ADMIN_API")
}


def _env(workdir: Path, port: int, issuer: str) -> dict[str, str]:
    return {
        **os.environ,
        "IDP_SERVER_PORT": str(port),
        "IDP_SERVER_ISSUER": issuer,
        "IDP_STORE_PATH": str(workdir / "idp.sqlite3"),
        **BENCH_RATE_LIMITS,
    }


def _cli(idp: Path, args: Sequence[str], env: Mapping[str, str], stdin: str | None = None) -> str:
    cmd = [str(idp), "--config", str(IDP_CONFIG), *args]
    out = subprocess.run(
        cmd, input=stdin, capture_output=True, text=True, env=dict(env), cwd=REPO, timeout=120
    )
    if out.returncode != 0:
        shown = " ".join(a if " " not in a else repr(a) for a in cmd[1:])
        said = out.stderr.strip() or out.stdout.strip()
        raise ProvisionError(f"`idp {shown}` exited with {out.returncode}:\n{said}")
    return out.stdout


def _client_from_json(stdout: str, redirect: str | None) -> Client:
    for line in reversed(stdout.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            break
    else:
        line = stdout.strip()
    try:
        data = json.loads(line)
        return Client(str(data["client_id"]), str(data["client_secret"]), redirect)
    except (ValueError, KeyError, TypeError) as exc:
        raise ProvisionError(
            f"`clients add --json` printed no client_id/client_secret: {stdout!r}"
        ) from exc


def _web_client(idp: Path, env: Mapping[str, str], name: str, mfa: str) -> Client:
    web_redirect = redirect_uri()
    web = _cli(
        idp,
        [
            "clients", "add", name,
            "--redirect-uri", web_redirect,
            "--grant", "authorization_code",
            "--grant", "refresh_token",
            "--scope", LOGIN_SCOPE,
            "--first-party",
            "--mfa", mfa,
            "--json",
        ],
        env,
    )  # fmt: skip
    return _client_from_json(web, web_redirect)


def provision_totp_users(idp: Path, env: Mapping[str, str]) -> list[dict[str, str]]:
    """The users of login_totp, added in one `idp users import`; the driver enrolls
    their authenticator apps through the wizard on its first run."""
    accounts = [
        {"username": f"bench-totp-{n:03d}", "password": new_password()} for n in range(TOTP_USERS)
    ]
    lines = "".join(json.dumps(a) + "\n" for a in accounts)
    _cli(idp, ["users", "import", "-"], env, stdin=lines)
    return accounts


def provision(idp: Path, env: Mapping[str, str], password: str) -> dict[str, Client]:
    """Create the store, the benchmark user and the clients; returns the clients."""
    _cli(idp, ["db", "init"], env)
    user = ["users", "add", USERNAME, "--name", "Bench User", "--email", "bench@example.org"]
    _cli(idp, [*user, "--password-stdin"], env, stdin=password + "\n")
    # the login workloads: a second factor optional, as the peer has none
    web = _web_client(idp, env, "bench-web", mfa="optional")
    # login_totp: the second factor required
    web_mfa = _web_client(idp, env, "bench-web-mfa", mfa="required")
    service = _cli(
        idp, ["clients", "add", "bench-service", "--grant", "client_credentials", "--json"], env
    )
    service_jwt = _cli(
        idp,
        [
            "clients", "add", "bench-service-jwt",
            "--grant", "client_credentials",
            "--access-token-format", "jwt",
            "--json",
        ],
        env,
    )  # fmt: skip
    return {
        "web": web,
        "web_mfa": web_mfa,
        "service": _client_from_json(service, None),
        "service_jwt": _client_from_json(service_jwt, None),
    }


def start_ours(
    workdir: Path,
    idp: Path = IDP_BIN,
    serve_args: Sequence[str] = (),
    extra_env: Mapping[str, str] | None = None,
    log_name: str = "ours",
    with_totp_users: bool = True,
) -> tuple[Target, Server]:
    """Provision and serve our IdP; `extra_env` adds IDP_* settings (another store);
    its output goes to `log_name`.log in the logs folder. Without `with_totp_users`,
    the users of login_totp are not made (that workload cannot run then)."""
    if not idp.exists():
        raise ProvisionError(f"{idp} not found: run `make` first, or use --peer-only")
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    env = {**_env(workdir, port, issuer), **(extra_env or {})}
    password = new_password()
    clients = provision(idp, env, password)
    totp_users = provision_totp_users(idp, env) if with_totp_users else []
    server = start_server(
        "ours",
        [str(idp), "--config", str(IDP_CONFIG), "serve", *serve_args],
        cwd=REPO,
        env=env,
        log_path=LOG_DIR / f"{log_name}.log",
    )
    server.wait_ready(f"{issuer}/.well-known/openid-configuration")
    target = Target(
        name="ours",
        issuer=issuer,
        clients=clients,
        username=USERNAME,
        password=password,
        pid=server.pid,
        totp={"users": totp_users, "state": {}},
        # every password here is an argon2id hash: login_argon2 signs in as the bench user
        argon2_user=Account(USERNAME, password),
        notes=[
            f"idp --config {IDP_CONFIG.relative_to(REPO)} serve {' '.join(serve_args)}".rstrip(),
            f"store {env.get('IDP_STORE_URL') or env['IDP_STORE_PATH']}",
        ],
    )
    return target, server
