"""Where an event's JSON line goes ([audit] output): standard output, a file, or nowhere."""

from __future__ import annotations

import sys
from typing import IO

import orjson

from idp.store.base import JSON


class JsonLines:
    """Writes one JSON object per line. A line is short and written at once, as a log
    record is; the file is opened for appending once, and flushed after every line so
    that a collector that follows it sees each event as it happens."""

    def __init__(self, output: str, file: str = "", stream: IO[str] | None = None) -> None:
        self.output = output
        self.file = file
        #: where "stdout" writes; None: sys.stdout as it is at each write
        self.stream = stream
        self._file: IO[bytes] | None = None

    def write(self, entry: JSON) -> None:
        if self.output == "off":
            return
        line = orjson.dumps(entry) + b"\n"
        if self.output == "file":
            if self._file is None:
                self._file = open(self.file, "ab")  # noqa: SIM115 (kept open, closed in close)
            self._file.write(line)
            self._file.flush()
            return
        stream = self.stream or sys.stdout
        stream.write(line.decode())
        stream.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
