"""The compose stack for tests/deploy: in Docker when asked for (POCKET_DEPLOY=docker,
`make test-docker`) and an engine can run, else as plain processes. The summary at the
end of the run says which of the two ran, and how long each stage took."""

from __future__ import annotations

import base64
import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pytest

from tests.deploy.compose import ComposeFile
from tests.deploy.docker_stack import DockerStack
from tests.deploy.engine import DockerEngine, EngineUnavailable
from tests.deploy.process_stack import ProcessStack
from tests.servers.idp_nodes import discovery_answers
from tests.servers.processes import HOST, free_port

#: how long the stack may take to answer discovery through HAProxy once it is up
READY_TIMEOUT = 60.0
#: what the run's summary says about the stack
SUMMARY: list[str] = []


class Stack(Protocol):
    way: str
    issuer: str
    timings: dict[str, float]

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def idp(self, service: str, *args: str, stdin: str = "") -> str: ...

    def proxy_log(self) -> str: ...

    def logs(self) -> dict[str, str]: ...


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if SUMMARY:
        terminalreporter.write_sep("-", "docker-compose.yml")
        for line in SUMMARY:
            terminalreporter.write_line(line)


def compose_variables(port: int) -> dict[str, str]:
    """What an operator puts in the environment (or .env) beside the compose file."""
    return {
        "POSTGRES_PASSWORD": secrets.token_urlsafe(16),
        "IDP_POCKET_ENCRYPTION_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "IDP_ISSUER": f"http://{HOST}:{port}",
        "IDP_BIND": HOST,
        "IDP_PORT": str(port),
    }


def chosen_stack(folder: Path, engine: DockerEngine) -> Stack:
    """The stack in Docker when asked for and possible, else as plain processes."""
    variables = compose_variables(free_port())
    if os.environ.get("POCKET_DEPLOY") == "docker":
        try:
            engine.start()
        except EngineUnavailable as exc:
            SUMMARY.append(f"no Docker engine, so the fallback ran: {exc}")
        else:
            return DockerStack(folder, engine, variables)
    else:
        SUMMARY.append("the Docker path runs with `make test-docker` (POCKET_DEPLOY=docker)")
    # HAProxy's connections come from 127.0.0.1 here
    variables["IDP_PROXY_ADDRESS"] = HOST
    compose = ComposeFile.resolved({**os.environ, **variables})
    return ProcessStack(folder, compose, variables["IDP_ISSUER"])


@pytest.fixture(scope="module")
def compose_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """docker-compose.yml's stack, answering discovery through HAProxy; torn down after."""
    folder = tmp_path_factory.mktemp("compose")
    engine = DockerEngine(folder)
    began = time.monotonic()
    stack: Stack | None = None
    try:
        stack = chosen_stack(folder, engine)
        stack.start()
        deadline = time.monotonic() + READY_TIMEOUT
        while not discovery_answers(stack.issuer, stack.issuer):
            assert time.monotonic() < deadline, f"no discovery at {stack.issuer}:\n{stack.logs()}"
            time.sleep(0.2)
        yield stack
    finally:
        if stack is not None:
            stack.stop()
        stopping = time.monotonic()
        engine.stop()
        if stack is not None:
            if engine.process_started:
                stack.timings["dockerd stopped, its images removed"] = time.monotonic() - stopping
            SUMMARY.append(f"ran as {stack.way}")
            SUMMARY.extend(f"  {name}: {took:.1f} s" for name, took in stack.timings.items())
        SUMMARY.append(f"  whole, up to torn down: {time.monotonic() - began:.1f} s")
