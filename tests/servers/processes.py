"""A server binary run by the tests: its own folder, a free port of 127.0.0.1, a log
file, and a start, a kill, a freeze and a stop by its PID.

Each server runs in a session of its own, so a terminal's Ctrl-C reaches only pytest,
which then stops it. `kill` and `stop` return once the processes the server forked
(PostgreSQL's backends, HAProxy's workers) are gone too: a server started again on the
same folder and port never meets one of them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import pytest

HOST = "127.0.0.1"


def free_port() -> int:
    """A port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def require_binary(path: str, package: str) -> str:
    """`path` when it is an executable; otherwise the test is skipped (failed under CI)
    with the Debian package that `.ci/run` installs for it."""
    if os.access(path, os.X_OK):
        return path
    message = f"{path} is missing: apt-get install -y {package} (.ci/run does)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def port_answers(port: int) -> bool:
    """Does something accept TCP connections on 127.0.0.1:`port`?"""
    try:
        with socket.create_connection((HOST, port), timeout=1):
            return True
    except OSError:
        return False


def _process_table() -> dict[int, tuple[str, int, int]]:
    """PID: (state, parent PID, process group) of every process (Linux /proc)."""
    table = {}
    try:
        entries = list(os.scandir("/proc"))
    except OSError:
        return {}
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        state, parent, group = stat[stat.rindex(")") + 2 :].split()[:3]
        table[int(entry.name)] = (state, int(parent), int(group))
    return table


def family(pid: int) -> set[int]:
    """`pid`, its descendants and the members of its process group. PostgreSQL's
    children each lead a process group of their own; they are found as children."""
    table = _process_table()
    members = {pid} | {other for other, (_, _, group) in table.items() if group == pid}
    added = True
    while added:
        children = {other for other, (_, parent, _) in table.items() if parent in members}
        added = not children <= members
        members |= children
    return members


def still_running(pids: set[int]) -> set[int]:
    """Those of `pids` that have not exited (zombies have: they hold no port, file lock
    or shared memory any more)."""
    table = _process_table()
    return {pid for pid in pids if pid in table and table[pid][0] not in ("Z", "X")}


@runtime_checkable
class HasLogs(Protocol):
    def logs(self) -> dict[str, str]:
        """Each log of this server or set of servers by name, for a failed test."""
        ...


class ServerProcess:
    """Base of the servers: a subclass says how to run it (`command`) and when it
    serves (`ready`); `start`, `kill` and `stop` are the same for all."""

    #: how `stop` asks the server to shut down
    stop_signal: signal.Signals = signal.SIGTERM
    #: what the server's log says when its port was taken in the meantime
    port_taken_message = "address already in use"
    startup_timeout = 30.0
    stop_timeout = 15.0

    def __init__(self, name: str, folder: Path, port: int | None = None) -> None:
        self.name = name
        self.folder = folder
        self.port = port or free_port()
        self.log_path = folder / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._port_may_change = port is None
        self._log_start = 0

    def command(self) -> list[str]:
        raise NotImplementedError

    def ready(self) -> bool:
        raise NotImplementedError

    def popen_options(self) -> dict[str, Any]:
        """Further `subprocess.Popen` arguments (`user`, `env`, `cwd`: the folder)."""
        return {}

    @property
    def pid(self) -> int:
        assert self.process is not None, f"{self.name} was never started"
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Start the server and wait until it serves. Before its first start only, a port
        that was taken in the meantime is swapped for another free one."""
        assert not self.running, f"{self.name} runs already (PID {self.pid})"
        for _attempt in range(3):
            self._spawn()
            if self._wait_until_ready():
                self._port_may_change = False
                return
            taken = self.port_taken_message in self._log_since_start().lower()
            if not (taken and self._port_may_change):
                break
            self.port = free_port()
        raise AssertionError(
            f"{self.name} exited with {self.process.returncode if self.process else '?'} "
            f"before it served:\n{self._log_since_start()}"
        )

    def kill(self) -> None:
        """SIGKILL the server (a crash). The children it forked go by themselves as they
        notice (PostgreSQL's do); those still there after the stop timeout are SIGKILLed.
        Returns once all of them are gone."""
        if self.process is None:
            return
        processes = family(self.pid)
        self.process.kill()
        self._reap(processes)

    @contextmanager
    def frozen(self) -> Iterator[None]:
        """The server stopped (SIGSTOP) and continued (SIGCONT) afterwards: meanwhile it
        answers nothing, but its connections stay open and the kernel still accepts new
        ones, as with a host that hangs."""
        os.kill(self.pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.kill(self.pid, signal.SIGCONT)

    def stop(self) -> None:
        """Ask the server to shut down (`stop_signal`); SIGKILL it after the stop timeout."""
        if self.process is None:
            return
        processes = family(self.pid)
        self.process.send_signal(self.stop_signal)
        try:
            self.process.wait(self.stop_timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._reap(processes)

    def log(self) -> str:
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")

    def logs(self) -> dict[str, str]:
        return {self.name: self.log()}

    def _spawn(self) -> None:
        self._log_start = self.log_path.stat().st_size if self.log_path.exists() else 0
        with open(self.log_path, "ab") as log:
            options = {"cwd": self.folder, **self.popen_options()}
            self.process = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                **options,
            )

    def _wait_until_ready(self) -> bool:
        """True once the server serves; False when it exited first. A server that
        neither serves nor exits in time is killed and the test fails."""
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if not self.running:
                self._reap(family(self.pid))
                return False
            if self.ready():
                return True
            time.sleep(0.02)
        self.kill()
        raise AssertionError(
            f"{self.name} did not serve within {self.startup_timeout}s:\n{self._log_since_start()}"
        )

    def _reap(self, processes: set[int]) -> None:
        assert self.process is not None
        self.process.wait(self.stop_timeout)
        deadline = time.monotonic() + self.stop_timeout
        while still_running(processes) and time.monotonic() < deadline:
            time.sleep(0.01)
        for pid in still_running(processes):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + self.stop_timeout
        while still_running(processes):
            assert time.monotonic() < deadline, f"{self.name}: processes outlive SIGKILL"
            time.sleep(0.01)

    def _log_since_start(self) -> str:
        if not self.log_path.exists():
            return ""
        return self.log_path.read_bytes()[self._log_start :].decode(errors="replace")
