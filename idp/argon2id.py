"""argon2id verify (RFC 9106) whose working memory is kept for the next verify.

argon2-cffi's verify has the reference implementation allocate its memory (64 MiB with
our settings) afresh each time: the kernel maps and zeroes it page by page, 16,384 page
faults, which come to about a fifth of the whole verify. Here the same implementation
(argon2-cffi's documented low-level `core`) runs with allocation callbacks that lend it
a buffer kept from an earlier verify. The parameters, and so the work an attacker must
do per guess, are those of the hash; argon2 wipes the memory itself before handing it
back, so a kept buffer holds nothing of a password.

Only argon2id hashes of version 19 take this path (every hash we make); anything else,
or anything argon2 itself refuses, is `Unsupported`, and the caller verifies with
argon2-cffi as before.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import threading
from typing import Any

from argon2 import Type, extract_parameters
from argon2.exceptions import InvalidHashError
from argon2.low_level import ARGON2_VERSION, core, ffi

log = logging.getLogger("idp")

#: buffers kept between verifies: as many as may run at once, up to four (256 MiB with
#: the default 64 MiB); a verify beyond that gets memory of its own, as before
KEPT_BUFFERS = 4

_OK = 0  # ARGON2_OK
_MEMORY_ALLOCATION_ERROR = -22  # ARGON2_MEMORY_ALLOCATION_ERROR


class Unsupported(Exception):
    """A hash this path does not verify; argon2-cffi's own verify decides."""


class MemoryPool:
    """Buffers lent to argon2 while it runs and kept, up to `keep`, for the next run."""

    def __init__(self, keep: int = KEPT_BUFFERS) -> None:
        self.keep = keep
        self.made = 0  # buffers allocated so far
        self._lock = threading.Lock()
        self._free: list[Any] = []  # cdata uint8_t[] of one size
        self._lent: dict[int, Any] = {}  # address -> cdata, while argon2 holds it

    def lend(self, size: int) -> Any:
        with self._lock:
            buffer = self._free.pop() if self._free else None
            if buffer is not None and len(buffer) != size:
                self._free.clear()  # the parameters changed: the kept ones do not fit
                buffer = None
            if buffer is None:
                self.made += 1
        if buffer is None:
            buffer = ffi.new("uint8_t[]", size)  # zeroed, so every page is mapped now
        address = int(ffi.cast("uintptr_t", buffer))
        with self._lock:
            self._lent[address] = buffer
        return buffer

    def take_back(self, address: int) -> None:
        with self._lock:
            buffer = self._lent.pop(address)
            if len(self._free) < self.keep:
                self._free.append(buffer)

    def kept(self) -> list[Any]:
        with self._lock:
            return list(self._free)


POOL = MemoryPool()

_CALLBACKS = dict(ffi.typeof("argon2_context").fields)


def _log_callback_error(exc_type: Any, value: Any, traceback: Any) -> None:
    log.error("argon2 memory could not be lent: %s", value)


@ffi.callback(  # type: ignore[untyped-decorator]
    _CALLBACKS["allocate_cbk"].type, error=_MEMORY_ALLOCATION_ERROR, onerror=_log_callback_error
)
def _allocate(memory: Any, size: int) -> int:
    memory[0] = ffi.cast("uint8_t *", POOL.lend(size))
    return _OK


@ffi.callback(_CALLBACKS["free_cbk"].type, onerror=_log_callback_error)  # type: ignore[untyped-decorator]
def _free(memory: Any, size: int) -> None:
    POOL.take_back(int(ffi.cast("uintptr_t", memory)))


def _b64decode(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def verify(encoded: str, password: str) -> bool:
    """Whether `password` matches the argon2id PHC string `encoded`, compared in constant
    time; raises Unsupported for a hash that argon2-cffi's verify should judge."""
    try:
        params = extract_parameters(encoded)
        _, _, _, _, salt_text, hash_text = encoded.split("$")
        salt, expected = _b64decode(salt_text), _b64decode(hash_text)
    except (InvalidHashError, ValueError, binascii.Error):
        raise Unsupported("not a PHC string this path reads") from None
    if params.type is not Type.ID or params.version != ARGON2_VERSION:
        raise Unsupported(f"{params.type.name} version {params.version}")
    secret = password.encode("utf-8")
    out = ffi.new("uint8_t[]", len(expected))
    c_password = ffi.new("uint8_t[]", secret)
    c_salt = ffi.new("uint8_t[]", salt)
    context = ffi.new(
        "argon2_context *",
        {
            "out": out,
            "outlen": len(expected),
            "pwd": c_password,
            "pwdlen": len(secret),
            "salt": c_salt,
            "saltlen": len(salt),
            "secret": ffi.NULL,
            "secretlen": 0,
            "ad": ffi.NULL,
            "adlen": 0,
            "t_cost": params.time_cost,
            "m_cost": params.memory_cost,
            "lanes": params.parallelism,
            "threads": params.parallelism,
            "version": params.version,
            "allocate_cbk": _allocate,
            "free_cbk": _free,
            "flags": 0,  # ARGON2_DEFAULT_FLAGS
        },
    )
    if core(context, Type.ID.value) != _OK:
        raise Unsupported("argon2 refused the hash's parameters or found no memory")
    return hmac.compare_digest(ffi.buffer(out, len(expected))[:], expected)
