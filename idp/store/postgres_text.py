"""What PostgreSQL's text and errors become in the store: keys that text can hold
(`as_text`, `from_text`), and psycopg's errors as the store's own (`translated`)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg

from idp.errors import AlreadyUsed, StoreError, StoreUnavailable
from idp.store import postgres_schema

_ESCAPED = re.compile(r"\\(.)", re.DOTALL)


def as_text(key: str) -> str:
    """A key (an id, a username, a counter's name) as PostgreSQL text can hold it. Text
    cannot hold NUL, which a key made of what a client sent may have: NUL is kept as a
    backslash and a zero, and a backslash as two, so that no two keys become one."""
    if "\x00" in key or "\\" in key:
        return key.replace("\\", "\\\\").replace("\x00", "\\0")
    return key


def from_text(text: str) -> str:
    """The key that `as_text` made this text of."""
    if "\\" not in text:
        return text
    return _ESCAPED.sub(lambda m: "\x00" if m[1] == "0" else m[1], text)


def _unreachable(exc: psycopg.Error) -> bool:
    """Is this a failure to reach the server, rather than of a statement? (SQLSTATE
    class 08: connection exception, 57P: the server shutting down or starting, 53: out of
    connections; none: the client's own, such as a broken connection or the pool's
    timeout.)"""
    if not isinstance(exc, psycopg.OperationalError):
        return False
    state = exc.sqlstate
    return state is None or state.startswith(("08", "57P", "53"))


@contextmanager
def translated(where: str, on_unreachable: Callable[[], None] | None = None) -> Iterator[None]:
    """psycopg's errors as the store's: StoreUnavailable when the server cannot be
    reached, StoreError for a statement that failed."""
    try:
        yield
    except psycopg.Error as exc:
        if exc.sqlstate == postgres_schema.ALREADY_USED:
            model, id = exc.diag.message_primary or "", exc.diag.message_detail or ""
            raise AlreadyUsed(model, from_text(id)) from exc
        if _unreachable(exc):
            if on_unreachable is not None:
                on_unreachable()
            said = _one_line(exc)
            raise StoreUnavailable(f"the store {where} cannot be reached: {said}") from exc
        raise StoreError(f"the store {where} failed: {_one_line(exc)}") from exc


def _one_line(exc: psycopg.Error) -> str:
    """libpq's message on one line (it adds hints on lines of their own)."""
    return " ".join(str(exc).split())
