"""The real provider as a separate process, for end-to-end tests.

`live_server(folder)` starts `idp serve` (the same command an operator runs) on a free
port of 127.0.0.1 with its sqlite store in `folder`, waits until discovery answers,
and stops it afterwards. Users and clients are provisioned through the `idp` command
line too, with passwords on standard input, so the tests go through every public
surface an operator or a relying party uses.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config" / "idp.toml"
HOST = "127.0.0.1"
STARTUP_TIMEOUT = 30.0


def free_port() -> int:
    """A port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class LiveServer:
    issuer: str
    folder: Path
    environ: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    users: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.issuer

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def idp(self, *args: str, stdin: str | None = None) -> str:
        """Run `idp --config ... ARGS` against this server's store; returns stdout."""
        result = subprocess.run(
            [sys.executable, "-m", "idp.cli", "--config", str(CONFIG), *args],
            input=stdin if stdin is not None else "",
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=self.environ,
            timeout=60,
        )
        if result.returncode != 0:
            raise AssertionError(
                f"idp {' '.join(args)} exited with {result.returncode}:\n"
                f"{result.stdout}{result.stderr}"
            )
        return result.stdout

    def add_user(
        self,
        username: str,
        password: str,
        *,
        name: str = "",
        given_name: str = "",
        family_name: str = "",
        email: str = "",
        email_verified: bool = True,
        locale: str = "",
    ) -> dict[str, Any]:
        """`idp users add` with the password on stdin; returns `idp users show` as JSON."""
        args = ["users", "add", username, "--password-stdin"]
        for flag, value in (
            ("--name", name),
            ("--given-name", given_name),
            ("--family-name", family_name),
            ("--email", email),
            ("--locale", locale),
        ):
            if value:
                args += [flag, value]
        if email_verified:
            args.append("--email-verified")
        self.idp(*args, stdin=password + "\n")
        shown: dict[str, Any] = json.loads(self.idp("users", "show", username))
        self.users[username] = shown
        return shown

    def add_client(
        self,
        name: str,
        *,
        client_id: str | None = None,
        redirect_uris: Sequence[str] = (),
        post_logout_redirect_uris: Sequence[str] = (),
        grants: Sequence[str] = ("authorization_code", "refresh_token"),
        scope: str = "openid profile email offline_access",
        first_party: bool = True,
        public: bool = False,
        mfa: str = "optional",
    ) -> dict[str, Any]:
        """`idp clients add ... --json`; returns {"client_id", "client_secret"}."""
        args = ["clients", "add", name, "--scope", scope, "--mfa", mfa, "--json"]
        if client_id:
            args += ["--client-id", client_id]
        for uri in redirect_uris:
            args += ["--redirect-uri", uri]
        for uri in post_logout_redirect_uris:
            args += ["--post-logout-redirect-uri", uri]
        for grant in grants:
            args += ["--grant", grant]
        if first_party:
            args.append("--first-party")
        if public:
            args.append("--public")
        created: dict[str, Any] = json.loads(self.idp(*args))
        return created


def _environ(issuer: str, port: int, folder: Path) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    environ.update(
        {
            "IDP_SERVER_ISSUER": issuer,
            "IDP_SERVER_HOST": HOST,
            "IDP_SERVER_PORT": str(port),
            "IDP_STORE_PATH": str(folder / "idp.sqlite3"),
            # cheap argon2id parameters: tests, not production
            "IDP_PASSWORDS_TIME_COST": "1",
            "IDP_PASSWORDS_MEMORY_COST": "8192",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return environ


def _discovery_answers(issuer: str) -> bool:
    try:
        with urllib.request.urlopen(
            f"{issuer}/.well-known/openid-configuration", timeout=2
        ) as response:
            return response.status == 200 and json.loads(response.read())["issuer"] == issuer
    except (OSError, ValueError, KeyError, urllib.error.URLError):
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def _start(folder: Path, demo: bool, settings: Mapping[str, str], log_level: str) -> LiveServer:
    port = free_port()
    issuer = f"http://{HOST}:{port}"
    environ = {**_environ(issuer, port, folder), **settings}
    server = LiveServer(issuer, folder, environ, folder / "server.log")
    command = [
        sys.executable,
        "-m",
        "idp.cli",
        "--config",
        str(CONFIG),
        "serve",
        "--host",
        HOST,
        "--port",
        str(port),
        "--log-level",
        log_level,
        "--no-access-log",
    ]
    if demo:
        command.append("--demo")
    with open(server.log_path, "wb") as log:
        server.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=server.environ,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            return server  # exited; the caller looks at why
        if _discovery_answers(issuer):
            return server
        time.sleep(0.1)
    _stop(server.process)
    raise AssertionError(f"idp serve did not answer within {STARTUP_TIMEOUT}s:\n{server.log()}")


@contextmanager
def live_server(
    folder: Path,
    *,
    demo: bool = False,
    settings: Mapping[str, str] | None = None,
    log_level: str = "warning",
) -> Iterator[LiveServer]:
    """Run `idp serve` on a free 127.0.0.1 port with its store in `folder`.

    `settings` are extra IDP_<SECTION>_<KEY> variables for the server and the CLI.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for _attempt in range(3):
        server = _start(folder, demo, settings or {}, log_level)
        assert server.process is not None
        if server.process.poll() is None:
            break
        if "address already in use" not in server.log().lower():
            raise AssertionError(
                f"idp serve exited with {server.process.returncode}:\n{server.log()}"
            )
    else:
        raise AssertionError(f"idp serve found no free port:\n{server.log()}")
    try:
        yield server
    finally:
        _stop(server.process)
