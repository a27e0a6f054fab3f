"""Responses leave in one write: the gathering transport, and uvicorn serving through it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from idp.http_protocol import (
    GatheringHttpToolsProtocol,
    GatheringTransport,
)
from tests.served import serve


class RecordingTransport:
    """Stands in for the socket's transport and keeps each call it is given."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[bytes]]] = []
        self.closed = False

    def writelines(self, data: list[bytes]) -> None:
        self.calls.append(("writelines", list(data)))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.calls.append(("close", []))
        self.closed = True

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 1) if name == "peername" else default


def test_the_writes_of_one_loop_turn_reach_the_socket_together() -> None:
    async def main() -> RecordingTransport:
        real = RecordingTransport()
        gathering = GatheringTransport(real, asyncio.get_running_loop())  # type: ignore[arg-type]
        gathering.write(b"HTTP/1.1 200 OK\r\n\r\n")
        gathering.write(b"body")
        assert real.calls == []  # nothing leaves during the turn
        assert gathering.get_write_buffer_size() == len(b"HTTP/1.1 200 OK\r\n\r\nbody")
        await asyncio.sleep(0)
        gathering.write(b"next")
        await asyncio.sleep(0)
        assert gathering.get_extra_info("peername") == ("127.0.0.1", 1)
        return real

    real = asyncio.run(main())

    assert real.calls == [
        ("writelines", [b"HTTP/1.1 200 OK\r\n\r\n", b"body"]),
        ("writelines", [b"next"]),
    ]


def test_close_sends_what_was_gathered_first() -> None:
    async def main() -> RecordingTransport:
        real = RecordingTransport()
        gathering = GatheringTransport(real, asyncio.get_running_loop())  # type: ignore[arg-type]
        gathering.write(b"last words")
        gathering.close()
        await asyncio.sleep(0)  # the scheduled flush finds nothing left
        return real

    assert asyncio.run(main()).calls == [("writelines", [b"last words"]), ("close", [])]


async def _json(request: Request) -> JSONResponse:
    return JSONResponse({"path": request.url.path})


async def _stream(request: Request) -> StreamingResponse:
    async def chunks() -> Any:
        for n in range(3):
            yield f"chunk {n}\n".encode()
            await asyncio.sleep(0.01)

    return StreamingResponse(chunks(), media_type="text/plain")


@pytest.fixture(scope="module")
def served() -> Iterator[str]:
    app = Starlette(
        routes=[
            Route("/json", _json),
            Route("/stream", _stream),
        ]
    )
    with serve(lambda url: app, http=GatheringHttpToolsProtocol) as url:
        yield url


def test_uvicorn_sends_each_response_in_one_write(
    served: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    flushed: list[list[bytes]] = []
    flush = GatheringTransport.flush

    def recording_flush(self: GatheringTransport) -> None:
        flushed.append(list(self._pending))
        flush(self)

    monkeypatch.setattr(GatheringTransport, "flush", recording_flush)
    with httpx.Client(base_url=served) as client:
        answers = [client.get(f"/json?n={n}").json() for n in range(20)]
        streamed = client.get("/stream")

    assert answers == [{"path": "/json"}] * 20
    assert streamed.text == "chunk 0\nchunk 1\nchunk 2\n"
    responses = [pieces for pieces in flushed if pieces and pieces[0].startswith(b"HTTP/1.1 ")]
    assert len(responses) == 21
    head, body = responses[0]  # status line and headers, then the body: one write
    assert head.endswith(b"\r\n\r\n")
    assert body == b'{"path":"/json"}'
