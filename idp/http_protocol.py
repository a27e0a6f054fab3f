"""uvicorn's httptools protocol, sending each response in one write.

uvicorn writes a response's status line and headers, then its body, as two separate
writes: two system calls and two TCP segments for every small JSON answer. Here the
writes are gathered and handed to the socket together as soon as the response is
complete, which for an ordinary response is a single `writev`. Writes that are not
followed by the end of a response in the same turn of the event loop (a streamed
body) leave at the end of that turn.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class GatheringTransport:
    """A transport that passes everything through except `write`, which it gathers
    until `flush`: called when a response is complete, when the transport closes, and
    at the end of the loop turn that made the first write, whichever comes first."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(bytes(data))

    def writelines(self, lines: Any) -> None:
        for data in lines:
            self.write(data)

    def flush(self) -> None:
        pending, self._pending = self._pending, []
        if pending and not self._transport.is_closing():
            self._transport.writelines(pending)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(len(d) for d in self._pending)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class GatheringHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol whose responses leave in one write (see GatheringTransport)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.transport = GatheringTransport(transport, self.loop)  # type: ignore[assignment]

    def on_response_complete(self) -> None:
        # the whole response is gathered: send it now rather than at the end of the turn
        self.transport.flush()  # type: ignore[attr-defined]
        super().on_response_complete()
