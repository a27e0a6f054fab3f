"""A throwaway redis-server (Debian's package) in a folder of its own, on a free loopback
port, keeping nothing on disk."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .procs import SERVER_CPU, free_port, pinned

REDIS_SERVER = Path("/usr/bin/redis-server")


@dataclass
class RedisServer:
    process: subprocess.Popen[bytes]
    url: str

    @property
    def pid(self) -> int:
        return self.process.pid


def start_redis(folder: Path) -> RedisServer:
    """Start redis-server pinned to the server core, without persistence (no snapshots,
    no append-only file) and with its default eviction policy (noeviction, which the
    IdP's cache requires). It is our child, so that stopping it reaps it."""
    if not REDIS_SERVER.exists():
        raise SystemExit("redis-server is missing: apt-get install -y redis-server")
    folder.mkdir()
    port = free_port()
    command = [str(REDIS_SERVER), "--bind", "127.0.0.1", "--port", str(port)]
    command += ["--dir", str(folder), "--save", "", "--appendonly", "no"]
    command += ["--daemonize", "no", "--logfile", str(folder / "log")]
    # taskset execs redis-server: the pid is redis-server's
    process = subprocess.Popen(
        pinned(command, SERVER_CPU), stdin=subprocess.DEVNULL, start_new_session=True
    )
    server = RedisServer(process, f"redis://127.0.0.1:{port}/0")
    deadline = time.monotonic() + 30
    while not _answers(port):
        if process.poll() is not None or time.monotonic() > deadline:
            stop_redis(server)
            raise SystemExit(f"redis-server did not start; see {folder / 'log'}")
        time.sleep(0.05)
    return server


def stop_redis(server: RedisServer) -> None:
    """SIGTERM to redis-server by its pid (it saves nothing); waits up to 30 s, then kills
    it."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(server.pid, signal.SIGTERM)
    try:
        server.process.wait(30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.kill(server.pid, signal.SIGKILL)
        server.process.wait()


def _answers(port: int) -> bool:
    """It answers PING (while it loads it answers -LOADING instead)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False
