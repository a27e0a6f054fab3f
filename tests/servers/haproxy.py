"""HAProxy for the tests: Debian's /usr/sbin/haproxy in HTTP mode on a free port of
127.0.0.1, round robin over backends on loopback.

Round robin is per request, not per connection: in HAProxy's default HTTP mode
(keep-alive on both sides, as in production) each request on a client's keep-alive
connection is balanced on its own, so a browser meets the backends in turn; the tests
hold that. With `health_path` each backend is checked with `GET health_path` every
`health_interval` seconds (on its port in `health_ports`, an `idp serve`'s management
port, when given) and left out while it does not answer 2xx or 3xx. A request that
cannot connect to its backend (a killed node, or one that has stopped accepting), or
whose connection closes before any answer (a node killed while it had the request, or
one that closed an idle connection as the request was sent on it) is sent again, to
another backend.

HAProxy runs in master-worker mode: the PID the test holds is the master's and stays
the same across `reload()`, which rereads a new configuration without dropping the
listening socket.
"""

from __future__ import annotations

import csv
import io
import socket
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from tests.servers.processes import HOST, ServerProcess, port_answers, require_binary

HAPROXY = "/usr/sbin/haproxy"
RELOAD_TIMEOUT = 10.0


def duration(seconds: float) -> str:
    """A time as HAProxy's configuration writes it: "60s", "200ms"."""
    milliseconds = round(seconds * 1000)
    return f"{milliseconds // 1000}s" if milliseconds % 1000 == 0 else f"{milliseconds}ms"


class HaproxyServer(ServerProcess):
    port_taken_message = "cannot bind socket"

    def __init__(
        self,
        folder: Path,
        backends: Sequence[str],
        port: int | None = None,
        *,
        health_path: str | None = None,
        health_ports: Sequence[int] | None = None,
        health_interval: float = 0.2,
        timeout: float = 60.0,
    ) -> None:
        """`backends` are "127.0.0.1:PORT" addresses; `health_ports`, one per backend,
        the ports its health checks go to (default: the backend's own); `timeout` bounds
        how long a request (a long poll) may wait for its backend's answer."""
        self.binary = require_binary(HAPROXY, "haproxy")
        self.backends = list(backends)
        self.health_path = health_path
        self.health_ports = list(health_ports) if health_ports is not None else None
        assert self.health_ports is None or len(self.health_ports) == len(self.backends)
        self.health_interval = health_interval
        self.timeout = timeout
        super().__init__("haproxy", folder, port)
        self.config_path = folder / "haproxy.cfg"
        self.master_socket = folder / "master.sock"

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def config(self) -> str:
        timeout = duration(self.timeout)
        backend = [
            "    balance roundrobin",
            "    option redispatch 1",
            "    retries 2",
            "    retry-on conn-failure empty-response",
        ]
        checks = [""] * len(self.backends)
        if self.health_path:
            backend += [f"    option httpchk GET {self.health_path}"]
            interval = duration(max(self.health_interval, 0.01))
            ports = self.health_ports or [None] * len(self.backends)
            checks = [
                " check" + (f" port {port}" if port else "") + f" inter {interval} fall 1 rise 1"
                for port in ports
            ]
        servers = [
            f"    server node{index} {address}{check}"
            for index, (address, check) in enumerate(zip(self.backends, checks, strict=True))
        ]
        lines = [
            "global",
            "    log stdout format raw local0 info",
            "    hard-stop-after 5s",
            "defaults",
            "    mode http",
            "    log global",
            "    option httplog",
            "    option dontlognull",
            "    option forwardfor",
            "    timeout connect 2s",
            "    timeout check 3s",
            f"    timeout client {timeout}",
            f"    timeout server {timeout}",
            "    timeout http-keep-alive 10s",
            "frontend entry",
            f"    bind {HOST}:{self.port}",
            "    default_backend nodes",
            "backend nodes",
            *backend,
            *servers,
        ]
        return "\n".join(lines) + "\n"

    def command(self) -> list[str]:
        self.config_path.write_text(self.config())
        return [
            self.binary,
            "-W",
            "-db",
            "-f",
            str(self.config_path),
            "-S",
            str(self.master_socket),
        ]

    def ready(self) -> bool:
        return bool(self.workers()) and port_answers(self.port)

    def reload(
        self, backends: Sequence[str] | None = None, health_ports: Sequence[int] | None = None
    ) -> None:
        """Reread the configuration, with other `backends` (and their `health_ports`) if
        given; returns once the new worker serves. The listening socket stays open
        throughout."""
        if backends is not None:
            self.backends = list(backends)
            self.health_ports = list(health_ports) if health_ports is not None else None
        self.config_path.write_text(self.config())
        failed_before, workers_before = self._processes()
        self.ask_master("reload")
        deadline = time.monotonic() + RELOAD_TIMEOUT
        while True:
            failed, workers = self._processes()
            assert failed == failed_before, f"haproxy could not reload:\n{self.log()}"
            if workers and not set(workers) & set(workers_before):
                return
            assert time.monotonic() < deadline, f"haproxy did not reload:\n{self.log()}"
            time.sleep(0.02)

    def backend_states(self) -> list[str]:
        """The state of each backend in order ("UP", "DOWN", ...) as the current worker
        sees it; a backend counts as UP until its first health check says otherwise."""
        listing = self.ask_master("@1 show stat").removeprefix("# ")
        return [
            row["status"]
            for row in csv.DictReader(io.StringIO(listing))
            if row["pxname"] == "nodes" and row["svname"] != "BACKEND"
        ]

    def workers(self) -> list[int]:
        """PIDs of the current workers, as the master lists them."""
        return self._processes()[1]

    def ask_master(self, command: str) -> str:
        """One command on the master's command socket; returns its answer."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(5)
            sock.connect(str(self.master_socket))
            sock.sendall(command.encode() + b"\n")
            sock.shutdown(socket.SHUT_WR)  # one command, then the master answers and closes
            answer = b""
            while chunk := sock.recv(4096):
                answer += chunk
        return answer.decode(errors="replace")

    def _processes(self) -> tuple[int, list[int]]:
        """From the master's `show proc`: how many reloads failed, and the PIDs of the
        current workers (none while the master is not there yet)."""
        try:
            listing = self.ask_master("show proc")
        except OSError:
            return 0, []
        failed = 0
        workers: list[int] = []
        section = ""
        for line in listing.splitlines():
            fields = line.split()
            if line.startswith("#"):
                section = line.strip()
            elif len(fields) >= 2 and fields[1] == "master" and "[failed:" in line:
                failed = int(line.split("[failed:")[1].split("]")[0])
            elif section == "# workers" and len(fields) >= 2 and fields[1] == "worker":
                workers.append(int(fields[0]))
        return failed, workers


@contextmanager
def running_haproxy(
    folder: Path, backends: Sequence[str], *, health_path: str | None = None
) -> Iterator[HaproxyServer]:
    """HAProxy in front of `backends`, started; stopped afterwards."""
    folder.mkdir(parents=True, exist_ok=True)
    server = HaproxyServer(folder, backends, health_path=health_path)
    try:
        server.start()
        yield server
    finally:
        server.stop()
