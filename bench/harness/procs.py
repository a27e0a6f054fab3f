"""Starting, pinning, probing and stopping the processes of a benchmark run."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

SERVER_CPU = 0
DRIVER_CPU = 1


def can_pin() -> bool:
    """True when both benchmark cores exist and taskset is available."""
    return shutil.which("taskset") is not None and (os.cpu_count() or 1) >= 2


def pinned(cmd: Sequence[str], cpu: int) -> list[str]:
    """Prefix a command with taskset so it runs on one core only."""
    if not can_pin():
        return list(cmd)
    return ["taskset", "-c", str(cpu), *cmd]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_ok(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@dataclass
class Server:
    """A server process started in its own process group, output to a log."""

    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    log: IO[bytes]

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_ready(self, url: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                code = self.proc.returncode
                raise RuntimeError(
                    f"{self.name} exited with {code}; see {self.log_path}:\n{self.tail()}"
                )
            if http_ok(url):
                return
            time.sleep(0.1)
        raise RuntimeError(
            f"{self.name} not ready at {url} after {timeout:.0f}s; see {self.log_path}:\n"
            + self.tail()
        )

    def tail(self, lines: int = 20) -> str:
        self.log.flush()
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


def start_server(
    name: str,
    cmd: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    log_path: Path,
) -> Server:
    """Start a long-running server pinned to the server core."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = log_path.open("wb")
    proc = subprocess.Popen(
        pinned(cmd, SERVER_CPU),
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return Server(name=name, proc=proc, log_path=log_path, log=log)


def _cpu_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies over all CPUs, from /proc/stat."""
    with open("/proc/stat") as fh:
        values = [int(v) for v in fh.readline().split()[1:9]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def background_cpu_pct(seconds: float = 1.0) -> float | None:
    """CPU use of the whole machine over a short quiet moment, in % of one core."""
    try:
        busy0, total0 = _cpu_jiffies()
        time.sleep(seconds)
        busy1, total1 = _cpu_jiffies()
    except OSError:
        return None
    if total1 <= total0:
        return None
    return 100.0 * (busy1 - busy0) / (total1 - total0) * (os.cpu_count() or 1)
