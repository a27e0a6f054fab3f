"""JSON that arrives from outside: a request parameter, a request body, a token segment.

Python's json module recurses once per level of nesting, so a few kilobytes of brackets
exhaust the stack (RecursionError), and it reads what the store cannot write back:
integers past 64 bits and strings with lone surrogates. orjson, the store's own JSON
library, refuses both and parses without recursing in Python; on top of it, the depth is
bounded here well below what orjson writes (254 levels), so that a parsed value can be
stored, printed and compared without surprise. Plugins parse their JSON input here too.
"""

from __future__ import annotations

from typing import Any

import orjson

#: the deepest nesting accepted; no request of any protocol here needs more than a few
MAX_DEPTH = 32


class JsonInputError(ValueError):
    """The text is not JSON, or is nested deeper than allowed."""


def parse_json(text: str | bytes, max_depth: int = MAX_DEPTH) -> Any:
    """The value of `text`; JsonInputError if it is not JSON or nested too deep."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as e:
        raise JsonInputError(f"not valid JSON: {e.msg}") from None
    if _deeper_than(value, max_depth):
        raise JsonInputError(f"nested deeper than {max_depth} levels")
    return value


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether arrays and objects nest more than `limit` levels (without recursing)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth == limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False
