"""docker-compose.yml in Docker: the IdP's image built from the Dockerfile, the other
services from local stand-ins for their public images, brought up and down with
Compose under a project name of the test's own."""

from __future__ import annotations

import subprocess
import time
import uuid
from pathlib import Path

from tests.deploy.compose import COMPOSE_FILE, ROOT, compose_command
from tests.deploy.engine import LOCAL_IMAGES, DockerEngine, build_local_images, image_variables

IDP_IMAGE = "local/pocket-idp:test"
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


class DockerStack:
    way = "Docker (the image built from the Dockerfile, the stack from docker-compose.yml)"

    def __init__(self, folder: Path, engine: DockerEngine, variables: dict[str, str]) -> None:
        self.folder = folder
        self.engine = engine
        self.environ = {
            **engine.environ,
            **variables,
            **image_variables(IDP_IMAGE),
            "COMPOSE_PROJECT_NAME": f"pocket{uuid.uuid4().hex[:8]}",
        }
        self.issuer = variables["IDP_ISSUER"]
        self.timings: dict[str, float] = {}
        self._up = False

    def compose(self, *args: str, stdin: str = "", timeout: float = 300) -> str:
        done = subprocess.run(
            [*compose_command(self.environ), "--file", str(COMPOSE_FILE), *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.environ,
            cwd=ROOT,
            timeout=timeout,
            check=False,
        )
        assert done.returncode == 0, f"compose {args[0]}: {done.stdout}{done.stderr}"
        return done.stdout

    def start(self) -> None:
        build_local_images(self.engine, self.folder, self.timings)
        started = time.monotonic()
        secret = ["--secret", f"id=ca,src={CA_BUNDLE}"] if CA_BUNDLE.exists() else []
        self.engine.run(
            "build",
            "--network",
            "host",
            *secret,
            "--build-arg",
            f"BASE={LOCAL_IMAGES['python']}",
            "--tag",
            IDP_IMAGE,
            str(ROOT),
        )
        self.timings["IdP image (pip)"] = time.monotonic() - started
        started = time.monotonic()
        self._up = True
        self.compose("up", "--detach", "--no-build")
        self.timings["compose up"] = time.monotonic() - started

    def idp(self, service: str, *args: str, stdin: str = "") -> str:
        """`compose run --rm -T SERVICE idp ARGS`, as the README shows; its output."""
        return self.compose("run", "--rm", "-T", "--no-deps", service, "idp", *args, stdin=stdin)

    def stop(self) -> None:
        if self._up:
            started = time.monotonic()
            self.compose("down", "--volumes", "--remove-orphans", "--timeout", "5")
            self.timings["compose down"] = time.monotonic() - started
            self._up = False

    def proxy_log(self) -> str:
        """What HAProxy has logged so far."""
        return self.compose("logs", "--no-color", "haproxy")

    def logs(self) -> dict[str, str]:
        if not self._up:
            return {}
        return {"compose": self.compose("logs", "--no-color", "--tail", "200")}
