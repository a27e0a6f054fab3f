"""`idp serve` processes for the push bench: one or more on one store, one issuer."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from .ours import BENCH_RATE_LIMITS
from .procs import free_port

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class IdpProcess:
    #: the address this process listens on; `issuer` is the same for every process
    url: str
    issuer: str
    process: subprocess.Popen[bytes]
    environ: dict[str, str]
    config: Path

    def idp(self, *args: str, stdin: str = "") -> str:
        result = subprocess.run(
            [sys.executable, "-m", "idp.cli", "--config", str(self.config), *args],
            input=stdin,
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=self.environ,
            check=True,
        )
        return result.stdout

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")


@contextmanager
def idp_processes(
    folder: Path, count: int, config_extra: str, environ: Mapping[str, str]
) -> Iterator[list[IdpProcess]]:
    """`count` processes sharing the configuration, the store named by `environ` (by
    default a sqlite file in `folder`) and the first process's URL as issuer."""
    ports = [free_port() for _ in range(count)]
    issuer = f"http://127.0.0.1:{ports[0]}"
    config = folder / "idp.toml"
    config.write_text((ROOT / "config" / "idp.toml").read_text() + config_extra)
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    env |= {
        "IDP_SERVER_ISSUER": issuer,
        "IDP_STORE_PATH": str(folder / "idp.sqlite3"),
        **BENCH_RATE_LIMITS,
        **environ,
    }
    with ExitStack() as stack:
        started = [
            stack.enter_context(_one(folder / f"server{n}.log", port, issuer, env, config))
            for n, port in enumerate(ports)
        ]
        yield started


@contextmanager
def _one(
    log_path: Path, port: int, issuer: str, environ: dict[str, str], config: Path
) -> Iterator[IdpProcess]:
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "idp.cli", "--config", str(config), "serve"]
    command += ["--port", str(port), "--log-level", "warning", "--no-access-log"]
    log = open(log_path, "wb")  # noqa: SIM115
    process = subprocess.Popen(command, cwd=ROOT, env=environ, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/.well-known/openid-configuration"):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(log_path.read_text()) from None
                time.sleep(0.1)
        yield IdpProcess(url, issuer, process, environ, config)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
