"""Redis for the tests: Debian's redis-server on a free port of 127.0.0.1, its files in
a folder of its own.

Nothing is kept on disk unless `persistent=True`: then every write goes to the
append-only file and is fsynced before Redis answers, so a write that was acknowledged
survives `kill()` (SIGKILL) and `start()`.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.servers.processes import HOST, ServerProcess, require_binary

REDIS_SERVER = "/usr/bin/redis-server"


class RedisServer(ServerProcess):
    def __init__(self, folder: Path, port: int | None = None, *, persistent: bool = False) -> None:
        self.binary = require_binary(REDIS_SERVER, "redis-server")
        self.persistent = persistent
        super().__init__("redis", folder, port)

    @property
    def url(self) -> str:
        return self.url_for(0)

    def url_for(self, db: int) -> str:
        return f"redis://{HOST}:{self.port}/{db}"

    def command(self) -> list[str]:
        return [
            self.binary,
            "--bind",
            HOST,
            "--port",
            str(self.port),
            "--dir",
            str(self.folder),
            "--daemonize",
            "no",
            "--save",
            "",
            "--appendonly",
            "yes" if self.persistent else "no",
            "--appendfsync",
            "always",
        ]

    def ready(self) -> bool:
        """It answers PING (while it loads its files it answers -LOADING instead)."""
        try:
            return self.ask(b"PING") == b"+PONG"
        except OSError:
            return False

    def flush(self) -> None:
        """Empty every database."""
        answer = self.ask(b"FLUSHALL")
        assert answer == b"+OK", answer

    def ask(self, command: bytes) -> bytes:
        """Send one inline command and return the first line of the answer."""
        with socket.create_connection((HOST, self.port), timeout=2) as sock:
            sock.sendall(command + b"\r\n")
            answer = b""
            while not answer.endswith(b"\r\n"):
                chunk = sock.recv(4096)
                if not chunk:
                    break
                answer += chunk
        return answer.split(b"\r\n", 1)[0]


@contextmanager
def running_redis(folder: Path, *, persistent: bool = False) -> Iterator[RedisServer]:
    """A redis-server with its files in `folder`, started; stopped afterwards."""
    folder.mkdir(parents=True, exist_ok=True)
    server = RedisServer(folder, persistent=persistent)
    try:
        server.start()
        yield server
    finally:
        server.stop()
