"""Client input named in an OAuth error description.

An error_description holds printable ASCII only, without '"' and '\\' (RFC 6749 4.1.2.1
and 5.2: %x20-21 / %x23-5B / %x5D-7E), and authlib refuses to build an error with any
other character in it. Whatever a client sent is shown through `shown`.
"""

from __future__ import annotations

import re

_FORBIDDEN = re.compile(r"[^\x20\x21\x23-\x5b\x5d-\x7e]")


def shown(text: str, limit: int = 40) -> str:
    """`text` cut to `limit` characters, each one a description may not hold as '?'."""
    cut = text if len(text) <= limit else text[:limit] + "..."
    return _FORBIDDEN.sub("?", cut)
