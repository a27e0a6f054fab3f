"""How log records are written ([logging] format): text lines for people, or one JSON
object per line for a log collector. Both name the request a record was made in."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import orjson
from uvicorn.logging import DefaultFormatter

from idp.request_ids import request_id

#: the attributes an access-log record carries (idp.access_log), copied into its JSON
ACCESS_FIELDS = ("client", "method", "path", "status", "duration_ms")


class WithRequestId(logging.Filter):
    """Notes on each record the id of the request it was made in, if any."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id.get()
        return True


class TextFormatter(DefaultFormatter):
    """uvicorn's console lines, ending with the request id where there is one (the access
    log's lines have it in their message)."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        rid = getattr(record, "request_id", None)
        if rid and record.name != "idp.access":
            text += f" [request {rid}]"
        return text


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, the
    request id if any, the access log's fields, and a traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = getattr(record, "request_id", None)
        if rid:
            entry["request_id"] = rid
        for name in ACCESS_FIELDS:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return orjson.dumps(entry, default=str).decode()
