"""`idp serve` processes for the tests: the command an operator runs, each process on a
free port of 127.0.0.1, serving once discovery answers with the issuer.

`IdpNodes` runs several of them with one configuration, one issuer (the load balancer's
URL when they sit behind one) and one store: the nodes of a deployment.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.servers.processes import HOST, ServerProcess, free_port

ROOT = Path(__file__).resolve().parent.parent.parent
CONFIG = ROOT / "config" / "idp.toml"


def idp_environ(folder: Path, settings: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of the provider and its CLI: none of the caller's IDP_* variables,
    the sqlite store in `folder`, cheap argon2id parameters (tests, not production), and
    `settings` (more IDP_<SECTION>_<KEY> variables) over those."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    environ.update(
        {
            "IDP_STORE_PATH": str(folder / "idp.sqlite3"),
            "IDP_PASSWORDS_TIME_COST": "1",
            "IDP_PASSWORDS_MEMORY_COST": "8192",
            "PYTHONUNBUFFERED": "1",
            **(settings or {}),
        }
    )
    return environ


def run_idp(environ: Mapping[str, str], *args: str, stdin: str = "", config: Path = CONFIG) -> str:
    """Run `idp --config CONFIG ARGS` with `environ`; returns its standard output."""
    result = subprocess.run(
        [sys.executable, "-m", "idp.cli", "--config", str(config), *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=dict(environ),
        timeout=60,
    )
    if result.returncode != 0:
        raise AssertionError(
            f"idp {' '.join(args)} exited with {result.returncode}:\n{result.stdout}{result.stderr}"
        )
    return result.stdout


def discovery_answers(url: str, issuer: str) -> bool:
    """Does `url` serve the discovery document of `issuer`?"""
    try:
        with urllib.request.urlopen(f"{url}/.well-known/openid-configuration", timeout=2) as answer:
            return answer.status == 200 and json.loads(answer.read())["issuer"] == issuer
    except (OSError, ValueError, KeyError, urllib.error.URLError):
        return False


class IdpNode(ServerProcess):
    """One `idp serve`. Its issuer is its own URL unless `issuer` says otherwise."""

    def __init__(
        self,
        name: str,
        folder: Path,
        environ: Mapping[str, str],
        *,
        issuer: str | None = None,
        config: Path = CONFIG,
        demo: bool = False,
        port: int | None = None,
        log_level: str = "warning",
        workers: int = 1,
        access_log: bool = False,
        management: bool = False,
    ) -> None:
        super().__init__(name, folder, port)
        self.environ = dict(environ)
        self.config = config
        self.demo = demo
        self.log_level = log_level
        self.workers = workers
        self.access_log = access_log
        #: the port of /healthz and /readyz (server.management_port), when it has one
        self.management_port = free_port() if management else None
        self._issuer = issuer

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def management_url(self) -> str:
        assert self.management_port, f"{self.name} has no management port"
        return f"http://{HOST}:{self.management_port}"

    @property
    def issuer(self) -> str:
        return self._issuer or self.url

    @issuer.setter
    def issuer(self, issuer: str | None) -> None:
        self._issuer = issuer

    def command(self) -> list[str]:
        command = [sys.executable, "-m", "idp.cli", "--config", str(self.config), "serve"]
        command += ["--host", HOST, "--port", str(self.port)]
        command += ["--log-level", "info" if self.access_log else self.log_level]
        command.append("--access-log" if self.access_log else "--no-access-log")
        if self.workers > 1:
            command += ["--workers", str(self.workers)]
        if self.demo:
            command.append("--demo")
        return command

    def popen_options(self) -> dict[str, Any]:
        environ = {**self.environ, "IDP_SERVER_ISSUER": self.issuer}
        if self.management_port:
            environ["IDP_SERVER_MANAGEMENT_PORT"] = str(self.management_port)
        return {"cwd": ROOT, "env": environ}

    def ready(self) -> bool:
        return discovery_answers(self.url, self.issuer)


class IdpNodes:
    """`count` nodes sharing a configuration, an issuer and the store `settings` name
    (by default one sqlite file in `folder`). Without `issuer`, the first node's URL is
    the issuer of all. `demo` serves the demo relying party; `access_log` logs every
    request a node serves; with `management`, each node has a management port of its
    own (/healthz, /readyz)."""

    def __init__(
        self,
        folder: Path,
        count: int,
        *,
        issuer: str | None = None,
        settings: Mapping[str, str] | None = None,
        config: Path = CONFIG,
        workers: int = 1,
        demo: bool = False,
        access_log: bool = False,
        management: bool = False,
    ) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.config = config
        self._settings = dict(settings or {})
        self._issuer = issuer
        self.nodes = [
            IdpNode(
                f"idp-node{index}",
                folder,
                idp_environ(folder, settings),
                config=config,
                workers=workers,
                demo=demo,
                access_log=access_log,
                management=management,
            )
            for index in range(count)
        ]

    @property
    def issuer(self) -> str:
        return self._issuer or self.nodes[0].url

    @property
    def environ(self) -> dict[str, str]:
        """The nodes' environment, for the `idp` command line."""
        return {**idp_environ(self.folder, self._settings), "IDP_SERVER_ISSUER": self.issuer}

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.nodes]

    @property
    def addresses(self) -> list[str]:
        """ "127.0.0.1:PORT" of each node, for a load balancer."""
        return [node.address for node in self.nodes]

    @property
    def management_ports(self) -> list[int]:
        """Each node's management port, for a load balancer's health checks."""
        return [node.management_port or node.port for node in self.nodes]

    def __len__(self) -> int:
        return len(self.nodes)

    def __getitem__(self, index: int) -> IdpNode:
        return self.nodes[index]

    def start(self) -> None:
        """Start every node at once, as a deployment might; returns once each serves
        discovery."""
        with ThreadPoolExecutor(max_workers=len(self.nodes)) as pool:
            for started in [pool.submit(self.start_node, i) for i in range(len(self.nodes))]:
                started.result()

    def start_node(self, index: int) -> None:
        """Start node `index` (again, after `kill` or `stop_node`) on its own port."""
        node = self.nodes[index]
        node.issuer = self.issuer
        node.start()

    def kill(self, index: int) -> None:
        """SIGKILL node `index`: a node that crashes."""
        self.nodes[index].kill()

    def stop_node(self, index: int) -> None:
        self.nodes[index].stop()

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def idp(self, *args: str, stdin: str = "") -> str:
        """Run the `idp` command line against the nodes' configuration and store."""
        return run_idp(self.environ, *args, stdin=stdin, config=self.config)

    def logs(self) -> dict[str, str]:
        return {node.name: node.log() for node in self.nodes}


@contextmanager
def running_idp_nodes(
    folder: Path,
    count: int,
    *,
    issuer: str | None = None,
    settings: Mapping[str, str] | None = None,
    config: Path = CONFIG,
) -> Iterator[IdpNodes]:
    """`count` nodes, started; stopped afterwards."""
    nodes = IdpNodes(folder, count, issuer=issuer, settings=settings, config=config)
    try:
        nodes.start()
        yield nodes
    finally:
        nodes.stop()


def shared_store_settings(postgres_url: str, **more: str) -> dict[str, str]:
    """What every node of one deployment shares: the PostgreSQL store and a new Pocket
    encryption key (a networked store needs one from the environment); `more` adds
    IDP_* settings, such as the Redis cache."""
    key = base64.urlsafe_b64encode(os.urandom(32)).decode()
    return {"IDP_STORE_URL": postgres_url, "IDP_POCKET_ENCRYPTION_KEY": key, **more}
