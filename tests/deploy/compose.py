"""The project's docker-compose.yml as Compose itself reads it: `compose config` resolves
the variables, anchors and defaults, so both ways of running the stack in the tests (in
Docker, or as plain processes) start from the same services."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"


def compose_command(environ: Mapping[str, str] | None = None) -> list[str]:
    """`docker compose` when the plugin is there, else Debian's `docker-compose` (v1);
    the test is skipped (failed under CI) without either."""
    docker = shutil.which("docker")
    if docker:
        plugin = subprocess.run(
            [docker, "compose", "version"],
            capture_output=True,
            env=dict(environ or os.environ),
            check=False,
        )
        if plugin.returncode == 0:
            return [docker, "compose"]
    standalone = shutil.which("docker-compose")
    if standalone:
        return [standalone]
    message = "neither `docker compose` nor docker-compose: apt-get install docker-compose"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@dataclass(frozen=True)
class Service:
    name: str
    config: dict[str, Any]

    @property
    def image(self) -> str:
        return str(self.config.get("image", ""))

    @property
    def command(self) -> list[str] | None:
        command = self.config.get("command")
        return None if command is None else [str(word) for word in command]

    @property
    def environment(self) -> dict[str, str]:
        return {k: str(v) for k, v in (self.config.get("environment") or {}).items()}

    @property
    def depends_on(self) -> dict[str, str]:
        """The services this one waits for, each with its condition."""
        given = self.config.get("depends_on") or {}
        if isinstance(given, list):
            return {name: "service_started" for name in given}
        return {name: spec.get("condition", "service_started") for name, spec in given.items()}

    @property
    def published(self) -> dict[int, tuple[str, int]]:
        """Container port: (host address, host port) of each published port."""
        ports: dict[int, tuple[str, int]] = {}
        for entry in self.config.get("ports") or []:
            if isinstance(entry, dict):
                address, published = entry.get("host_ip", ""), int(entry["published"])
                ports[int(entry["target"])] = (address, published)
                continue
            *host, target = str(entry).split("/")[0].split(":")
            address = host[0] if len(host) == 2 else ""
            ports[int(target)] = (address, int(host[-1]))
        return ports

    @property
    def bind_mounts(self) -> dict[str, Path]:
        """Container path: host path of each file or folder mounted from the host."""
        mounts: dict[str, Path] = {}
        for entry in self.config.get("volumes") or []:
            if isinstance(entry, dict):
                if entry.get("type") == "bind":
                    mounts[entry["target"]] = Path(entry["source"])
                continue
            source, target, *_ = str(entry).split(":")
            if source.startswith("/"):
                mounts[target] = Path(source)
        return mounts


@dataclass(frozen=True)
class ComposeFile:
    services: dict[str, Service]

    @classmethod
    def resolved(cls, environ: Mapping[str, str], path: Path = COMPOSE_FILE) -> ComposeFile:
        """The file as `compose config` prints it with the variables of `environ`."""
        done = subprocess.run(
            [*compose_command(environ), "--file", str(path), "config"],
            capture_output=True,
            text=True,
            env=dict(environ),
            cwd=path.parent,
            check=False,
        )
        assert done.returncode == 0, f"compose config failed:\n{done.stderr}"
        config = yaml.safe_load(done.stdout)
        return cls({name: Service(name, spec) for name, spec in config["services"].items()})

    def start_order(self) -> list[Service]:
        """Every service after those it depends on."""
        ordered: list[Service] = []

        def visit(name: str, path: tuple[str, ...]) -> None:
            assert name not in path, f"services depend on each other: {path}"
            if any(s.name == name for s in ordered):
                return
            for needed in self.services[name].depends_on:
                visit(needed, (*path, name))
            ordered.append(self.services[name])

        for name in self.services:
            visit(name, ())
        return ordered

    def one_shot(self) -> set[str]:
        """The services that others wait for to run to completion (the schema)."""
        return {
            needed
            for service in self.services.values()
            for needed, condition in service.depends_on.items()
            if condition == "service_completed_successfully"
        }
