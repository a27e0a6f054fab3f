"""Records and rows as JSON text: what every backend stores the same way."""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

import orjson

from idp.store.base import JSON

_T = TypeVar("_T")


def dump_payload(payload: JSON) -> str:
    return orjson.dumps(payload, option=orjson.OPT_NON_STR_KEYS).decode()


def load_payload(text: str | bytes, consumed: bool = False) -> JSON:
    """A record's payload as find() returns it: with "consumed": true once consumed."""
    payload: JSON = orjson.loads(text)
    if consumed:
        payload["consumed"] = True
    return payload


def dump_row(obj: Any) -> str:
    """A user, client or signing key (a dataclass) as JSON text."""
    return dump_payload(dataclasses.asdict(obj))


def load_row(cls: type[_T], text: str | bytes) -> _T:
    """The dataclass back from its JSON text; fields it no longer has are left out, and
    lists become the tuples the dataclasses hold."""
    data = orjson.loads(text)
    known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    values = {
        name: tuple(value) if isinstance(value, list) else value
        for name, value in data.items()
        if name in known
    }
    return cls(**values)
