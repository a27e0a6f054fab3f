"""uvicorn's httptools protocol, sending each response in one write.

uvicorn writes a response's status line and headers, then its body, as two separate
writes: two system calls and two TCP segments for every small JSON answer. Here the
writes are gathered and handed to the socket together as soon as the response is
complete, which for an ordinary response is a single `writev`. Writes that are not
followed by the end of a response in the same turn of the event loop (a streamed
body) leave at the end of that turn.

The protocol also tells the app how many requests its server is handling at the moment
(`requests_in_progress`).
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

#: per event loop: the tasks of the requests its server is handling (uvicorn's own set)
_IN_PROGRESS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, set[asyncio.Task[Any]]] = (
    weakref.WeakKeyDictionary()
)


def requests_in_progress() -> int | None:
    """How many requests the server on this event loop is handling now, the caller's
    included: every request whose headers have arrived and whose handling has not
    ended, whether it has begun to run or waits its turn. None where the app is not
    served through GatheringHttpToolsProtocol (under a test client, say)."""
    try:
        tasks = _IN_PROGRESS.get(asyncio.get_running_loop())
    except RuntimeError:
        return None
    return None if tasks is None else len(tasks)


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
        _IN_PROGRESS[self.loop] = self.tasks  # shared by every connection of the server
        self.transport = GatheringTransport(transport, self.loop)  # type: ignore[assignment]

    def on_response_complete(self) -> None:
        # the whole response is gathered: send it now rather than at the end of the turn
        self.transport.flush()  # type: ignore[attr-defined]
        super().on_response_complete()
