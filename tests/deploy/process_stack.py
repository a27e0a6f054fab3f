"""docker-compose.yml without Docker: each service of the file as a plain process on
127.0.0.1, with the configuration the file gives it.

The IdP is installed as the Dockerfile installs it (the files its build stage copies,
installed with pip into a new virtualenv) and runs with the image's environment and
command, under the service's environment and command. Host names and ports of the
services (postgres:5432, redis:6379, idp1:8000) become 127.0.0.1 and a free port each,
in the environment and in HAProxy's configuration file alike. Each node's management
port (IDP_SERVER_MANAGEMENT_PORT, the same in every container) becomes a free port of
its own too, and so does `port N` on the node's `server` line, where HAProxy checks it.
A node counts as started once the image's HEALTHCHECK passes, as Compose's
`service_healthy` waits for it. PostgreSQL, Redis and HAProxy are Debian's, started as
tests/servers starts them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from tests.deploy.compose import ROOT, ComposeFile, Service
from tests.deploy.dockerfile import Stage, stages
from tests.servers.haproxy import HAPROXY
from tests.servers.idp_nodes import discovery_answers
from tests.servers.postgresql import PostgresServer
from tests.servers.processes import (
    HOST,
    ServerProcess,
    free_port,
    port_answers,
    require_binary,
)
from tests.servers.redis_server import REDIS_SERVER, RedisServer

DOCKERFILE = ROOT / "Dockerfile"
#: the port each kind of service listens on inside its container
CONTAINER_PORTS = {"postgres": 5432, "redis": 6379, "haproxy": 8000}


def kind_of(service: Service) -> str:
    """postgres, redis, haproxy, or idp (the project's image)."""
    repository = service.image.rsplit("/", 1)[-1].split(":")[0]
    return next((kind for kind in CONTAINER_PORTS if kind in repository), "idp")


def install_like_the_image(folder: Path) -> Path:
    """The Dockerfile's build stage on this machine: its COPY steps into `folder/image`,
    then the project installed with pip from there into a new virtualenv (without pip of
    its own, as the image's has none left); returns its bin folder.

    The dependencies are not fetched again: the new virtualenv sees those of the
    project's own (.venv, installed from the same pyproject.toml), behind its own
    packages, and `pip check` proves every requirement of the installed project met.
    Fetching them costs a minute here, with no pip cache to take them from."""
    build = stages(DOCKERFILE)[0]
    image_root = folder / "image"
    project: Path | None = None
    for sources, destination in build.copies:
        target = image_root / destination.lstrip("/")
        for source in sources:
            origin = ROOT / source
            placed = target / origin.name if destination.endswith("/") else target
            placed.parent.mkdir(parents=True, exist_ok=True)
            if origin.is_dir():
                shutil.copytree(origin, placed, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(origin, placed)
            if source == "pyproject.toml":
                project = placed.parent
    assert project is not None, "the Dockerfile's build stage copies no pyproject.toml"
    venv = folder / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    own = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(own, "project-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    # the project's pip works on the new virtualenv: ensurepip would cost seconds
    pip = [sys.executable, "-m", "pip", "--python", str(python), "--disable-pip-version-check"]
    subprocess.run(
        [*pip, "install", "--quiet", "--no-cache-dir", "--no-deps", project],
        check=True,
    )
    subprocess.run([*pip, "check"], check=True, capture_output=True)
    return venv / "bin"


class PlainProcess(ServerProcess):
    """A service's command as a process of this machine, ready when `ready` says so."""

    def __init__(self, name: str, folder: Path, ready: Callable[[int], bool]) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        super().__init__(name, folder)
        self.arguments: list[str] = []
        self.environ: dict[str, str] = {}
        self._ready = ready

    def command(self) -> list[str]:
        return self.arguments

    def popen_options(self) -> dict[str, Any]:
        return {"env": self.environ}

    def ready(self) -> bool:
        return self._ready(self.port)


class ComposedRedis(RedisServer):
    """redis-server with the service's arguments, on its own port of 127.0.0.1."""

    def __init__(self, folder: Path, arguments: list[str]) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        super().__init__(folder)
        self.arguments = arguments

    def command(self) -> list[str]:
        require_binary(REDIS_SERVER, "redis-server")
        local = ["--bind", HOST, "--port", str(self.port), "--dir", str(self.folder)]
        return [self.binary, *self.arguments, *local, "--daemonize", "no"]


class ProcessStack:
    """The services of `compose`, started in their order; `issuer` is HAProxy's URL."""

    way = "plain processes (no Docker engine: the compose file's services run directly)"

    def __init__(self, folder: Path, compose: ComposeFile, issuer: str) -> None:
        self.folder = folder
        self.compose = compose
        self.issuer = issuer
        self.timings: dict[str, float] = {}
        self.servers: dict[str, ServerProcess] = {}
        self.environs: dict[str, dict[str, str]] = {}
        self.bin: Path | None = None
        self.image: Stage = stages(DOCKERFILE)[-1]
        #: node: (its management port in the container, the one it has here)
        self.management_ports: dict[str, tuple[int, int]] = {}

    # --- the services
    def start(self) -> None:
        started = time.monotonic()
        self.bin = install_like_the_image(self.folder)
        self.timings["install (venv, pip)"] = time.monotonic() - started
        started = time.monotonic()
        order = self.compose.start_order()
        for service in order:
            self._prepare(service)
        addresses = self._addresses()
        for service in order:
            self._run(service, addresses)
        self.timings["services up"] = time.monotonic() - started

    def _prepare(self, service: Service) -> None:
        """Make the service's server object, and with it its port."""
        folder = self.folder / service.name
        kind = kind_of(service)
        if kind == "postgres":
            self.servers[service.name] = PostgresServer()
        elif kind == "redis":
            arguments = (service.command or ["redis-server"])[1:]
            self.servers[service.name] = ComposedRedis(folder, arguments)
        elif service.name not in self.compose.one_shot():
            ready = self._healthy(service.name) if kind == "idp" else port_answers
            self.servers[service.name] = PlainProcess(service.name, folder, ready)
            inside = {**self.image.environment, **service.environment}
            management = int(inside.get("IDP_SERVER_MANAGEMENT_PORT") or 0)
            if kind == "idp" and management:
                self.management_ports[service.name] = (management, free_port())

    def _healthy(self, name: str) -> Callable[[int], bool]:
        """The image's HEALTHCHECK run with the node's environment (discovery without
        one)."""

        def healthy(port: int) -> bool:
            if not self.image.healthcheck:
                return discovery_answers(f"http://{HOST}:{port}", self.issuer)
            try:
                check = subprocess.run(
                    self.image.healthcheck,
                    env=self.environs[name],
                    capture_output=True,
                    timeout=10,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                return False
            return check.returncode == 0

        return healthy

    def _addresses(self) -> list[tuple[re.Pattern[str], str]]:
        """`service:port` as the other containers reach it, and where it is here."""
        found = []
        for name, server in self.servers.items():
            inside = CONTAINER_PORTS.get(kind_of(self.compose.services[name]))
            inside = inside or int(self.image.environment.get("IDP_SERVER_PORT", "8000"))
            pattern = re.compile(rf"\b{re.escape(name)}:{inside}\b")
            found.append((pattern, f"{HOST}:{server.port}"))
        return found

    def _run(self, service: Service, addresses: list[tuple[re.Pattern[str], str]]) -> None:
        kind = kind_of(service)
        server = self.servers.get(service.name)
        if kind == "postgres":
            assert isinstance(server, PostgresServer)
            server.initdb()
            server.start()
            self._create_database(server, service.environment)
            return
        if kind == "haproxy":
            assert isinstance(server, PlainProcess)
            server.arguments = self._haproxy_command(service, server, addresses)
            server.environ = dict(os.environ)
            server.start()
            return
        if kind == "redis":
            assert server is not None
            server.start()
            return
        environ = self._idp_environ(service, addresses)
        self.environs[service.name] = environ
        if server is None:  # runs once, to its end, before the services that wait for it
            self._run_to_end(service.name, self._idp_command(service), environ)
            return
        assert isinstance(server, PlainProcess)
        environ["IDP_SERVER_HOST"] = HOST
        environ["IDP_SERVER_PORT"] = str(server.port)
        if service.name in self.management_ports:
            environ["IDP_SERVER_MANAGEMENT_PORT"] = str(self.management_ports[service.name][1])
        server.arguments = self._idp_command(service)
        server.environ = environ
        server.start()

    def _create_database(self, server: PostgresServer, environment: Mapping[str, str]) -> None:
        """What postgres:16 makes of POSTGRES_USER, POSTGRES_PASSWORD and POSTGRES_DB."""
        user = environment.get("POSTGRES_USER", "postgres")
        database = environment.get("POSTGRES_DB", user)
        with psycopg.connect(server.url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(user), sql.Literal(environment["POSTGRES_PASSWORD"])
                )
            )
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(database), sql.Identifier(user)
                )
            )

    def _idp_environ(
        self, service: Service, addresses: list[tuple[re.Pattern[str], str]]
    ) -> dict[str, str]:
        """The image's environment under the service's, with this machine's addresses
        and folders; none of the caller's IDP_* variables."""
        environ = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
        data = self.folder / service.name
        data.mkdir(parents=True, exist_ok=True)
        given = {k: v for k, v in self.image.environment.items() if k != "PATH"}
        for key, value in {**given, **service.environment}.items():
            for pattern, here in addresses:
                value = pattern.sub(here, value)
            if value == self.image.workdir or value.startswith(self.image.workdir + "/"):
                value = str(data) + value[len(self.image.workdir) :]
            environ[key] = value
        environ["PATH"] = f"{self.bin}{os.pathsep}{os.environ.get('PATH', '')}"
        return environ

    def _idp_command(self, service: Service) -> list[str]:
        command = service.command or self.image.command
        assert self.bin is not None
        return [str(self.bin / command[0]), *command[1:]]

    def _haproxy_command(
        self, service: Service, server: PlainProcess, addresses: list[tuple[re.Pattern[str], str]]
    ) -> list[str]:
        """HAProxy's command with each mounted file replaced by a copy whose addresses are
        this machine's; it listens where the service's port is published."""
        require_binary(HAPROXY, "haproxy")
        address, port = service.published[CONTAINER_PORTS["haproxy"]]
        server.port = port
        command = []
        for word in service.command or []:
            if word in service.bind_mounts:
                text = self._checked_ports(service.bind_mounts[word].read_text())
                for pattern, here in addresses:
                    text = pattern.sub(here, text)
                inside = CONTAINER_PORTS["haproxy"]
                text = re.sub(rf"(?m)^(\s*bind\s+)\S*:{inside}\b", rf"\g<1>{address}:{port}", text)
                word = str(server.folder / Path(word).name)
                Path(word).write_text(text)
            command.append(HAPROXY if word == "haproxy" else word)
        return command

    def _checked_ports(self, text: str) -> str:
        """HAProxy's configuration with `port N` (where a node is checked) on each node's
        `server` line made the node's management port here: two nodes on one host
        cannot share one."""
        lines = []
        for line in text.splitlines(keepends=True):
            words = line.split()
            node = words[2].split(":")[0] if len(words) > 2 and words[0] == "server" else ""
            if node in self.management_ports:
                inside, here = self.management_ports[node]
                line = re.sub(rf"\bport\s+{inside}\b", f"port {here}", line)
            lines.append(line)
        checked = "".join(lines)
        for inside, _ in self.management_ports.values():
            assert not re.search(rf"\bport\s+{inside}\b", checked), (
                f"port {inside} outside the nodes' server lines: all nodes share it here"
            )
        return checked

    def _run_to_end(self, name: str, command: list[str], environ: dict[str, str]) -> None:
        done = subprocess.run(command, capture_output=True, text=True, env=environ, timeout=60)
        assert done.returncode == 0, f"{name} exited with {done.returncode}:\n{done.stderr}"

    # --- what the tests do with it
    def idp(self, service: str, *args: str, stdin: str = "") -> str:
        """`idp ARGS` as `compose run SERVICE idp ARGS` would run it; its output."""
        assert self.bin is not None
        done = subprocess.run(
            [str(self.bin / "idp"), *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.environs[service],
            cwd=self.folder / service,
            timeout=60,
        )
        assert done.returncode == 0, f"idp {' '.join(args)}: {done.stdout}{done.stderr}"
        return done.stdout

    def stop(self) -> None:
        for server in reversed(list(self.servers.values())):
            if isinstance(server, PostgresServer):
                server.remove()
            else:
                server.stop()

    def proxy_log(self) -> str:
        """What HAProxy has logged so far."""
        proxies = [s for s in self.compose.services.values() if kind_of(s) == "haproxy"]
        return "".join(self.servers[service.name].log() for service in proxies)

    def logs(self) -> dict[str, str]:
        return {name: server.log() for name, server in self.servers.items()}
