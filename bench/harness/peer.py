"""The peer: panva/oidc-provider behind bench/peer/server.mjs."""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from pathlib import Path

from . import npm
from .argon import hash_like_ours
from .paths import LOG_DIR, PEER_DIR
from .procs import Server, free_port, start_server
from .target import (
    ARGON2_USERNAME,
    USERNAME,
    Account,
    Client,
    Target,
    new_password,
    redirect_uri,
)

PACKAGE = "oidc-provider"
PASSWORD_CHECK = "a plain string comparison with one constant password"
#: the npm package that verifies the login_argon2 account's password (node-argon2)
ARGON2_PACKAGE = "argon2"


def start_peer(workdir: Path) -> tuple[Target, Server]:
    npm.ensure_installed(PEER_DIR)
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    password = new_password()
    # login_argon2: the peer verifies the hash our IdP would store for this password
    argon2_user = Account(ARGON2_USERNAME, new_password())
    argon2_hash, hashed_by = hash_like_ours(argon2_user.password)
    clients = {
        "web": Client("bench-web", secrets.token_urlsafe(32), redirect_uri()),
        "service": Client("bench-service", secrets.token_urlsafe(32)),
        "service_jwt": Client("bench-service-jwt", secrets.token_urlsafe(32)),
    }
    spec = {
        "port": port,
        "issuer": issuer,
        "user": {"username": USERNAME, "password": password},
        "argon2_user": {"username": argon2_user.username, "password_hash": argon2_hash},
        "clients": {role: c.as_json() for role, c in clients.items()},
    }
    fd, spec_path = tempfile.mkstemp(prefix="peer-", suffix=".json", dir=workdir)
    with os.fdopen(fd, "w") as fh:
        json.dump(spec, fh)
    env = {**os.environ, "NODE_ENV": "production"}
    node = npm.local_node(PEER_DIR) or npm.system_node()
    server = start_server(
        "peer",
        [node, str(PEER_DIR / "server.mjs"), spec_path],
        cwd=PEER_DIR,
        env=env,
        log_path=LOG_DIR / "peer.log",
    )
    server.wait_ready(f"{issuer}/.well-known/openid-configuration")
    version = npm.installed_version(PEER_DIR, PACKAGE)
    target = Target(
        name="peer",
        issuer=issuer,
        clients=clients,
        username=USERNAME,
        password=password,
        pid=server.pid,
        argon2_user=argon2_user,
        notes=[
            f"{PACKAGE} {version}, Node.js {npm.node_version(node)}, NODE_ENV=production",
            "in-memory adapter",
            f"{ARGON2_USERNAME}'s argon2id hash by {hashed_by}, verified with "
            f"{ARGON2_PACKAGE} {npm.installed_version(PEER_DIR, ARGON2_PACKAGE)}",
        ],
    )
    return target, server
