"""An ASGI app served by uvicorn in a thread of the test process, on a free port."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn


@contextmanager
def serve(make_app: Callable[[str], Any], **config: Any) -> Iterator[str]:
    """Run `make_app(base_url)` with uvicorn on a free port of 127.0.0.1 (further
    `uvicorn.Config` settings in `config`); yields the base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(make_app(url), log_level="warning", **config))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@contextmanager
def request_held_open(url: str, path: str) -> Iterator[None]:
    """A POST to `path` whose headers have arrived but whose (urlencoded) body never
    does: the server handles it until the block ends and the connection closes."""
    server = httpx.URL(url)
    with socket.create_connection((server.host, server.port)) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: {server.host}\r\nContent-Length: 29\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n\r\n".encode()
        )
        time.sleep(0.2)  # until the server has read the headers
        yield
    time.sleep(0.2)  # until the server has seen the connection close
