"""Timing one argon2id password verify, as a sign-in on our IdP pays it, and
hashing a password as our IdP stores it."""

from __future__ import annotations

import os
import statistics
import time
import tomllib
from collections.abc import Callable
from typing import Any

from .paths import IDP_CONFIG
from .procs import SERVER_CPU, can_pin

PASSWORD = "correct horse battery staple"


def _our_hasher() -> tuple[Any, Any] | None:
    """Our hasher (idp.passwords.Passwords) with the benchmark config's settings, and
    those settings; None if the package is not importable."""
    try:
        from idp.passwords import Passwords
        from idp.settings import load_settings
    except ImportError:
        return None
    settings = load_settings(IDP_CONFIG if IDP_CONFIG.exists() else None).passwords
    return Passwords(settings), settings


def _ours() -> tuple[Callable[[], object], dict[str, Any]] | None:
    """A verify by our hasher with the benchmark config's settings, if importable."""
    found = _our_hasher()
    if found is None:
        return None
    passwords, settings = found
    hashed = passwords.hash(PASSWORD)
    params = {
        "time_cost": settings.time_cost,
        "memory_cost_kib": settings.memory_cost,
        "parallelism": settings.parallelism,
    }
    return (lambda: passwords.verify(hashed, PASSWORD)), {
        "source": "idp.passwords.Passwords",
        **params,
    }


def _argon2_defaults() -> tuple[Callable[[], object], dict[str, Any]] | None:
    try:
        from argon2 import PasswordHasher
    except ImportError:
        return None
    hasher = PasswordHasher()
    hashed = hasher.hash(PASSWORD)
    params = {
        "time_cost": hasher.time_cost,
        "memory_cost_kib": hasher.memory_cost,
        "parallelism": hasher.parallelism,
    }
    return (lambda: hasher.verify(hashed, PASSWORD)), {"source": "argon2-cffi defaults", **params}


def measure(repeats: int = 7) -> dict[str, Any]:
    """Median wall time of one verify, on the server core."""
    found = _ours() or _argon2_defaults()
    if found is None:
        return {"source": "unavailable (neither idp.passwords nor argon2-cffi importable)"}
    verify, info = found
    old = os.sched_getaffinity(0)
    if can_pin():
        os.sched_setaffinity(0, {SERVER_CPU})
    try:
        verify()  # warm up
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            verify()
            times.append(time.perf_counter() - start)
    finally:
        os.sched_setaffinity(0, old)
    return {**info, "verify_ms": statistics.median(times) * 1000, "repeats": repeats}


def hash_like_ours(password: str) -> tuple[str, str]:
    """An argon2id PHC string of password as our IdP would store it, and what made it.

    With our hasher and settings if idp is importable, else with argon2-cffi and the
    [passwords] parameters of the benchmark config (what our hasher would read).
    """
    found = _our_hasher()
    if found is not None:
        return found[0].hash(password), "idp.passwords.Passwords"
    try:
        from argon2 import PasswordHasher, Type
    except ImportError as exc:
        raise RuntimeError(
            "neither idp.passwords nor argon2-cffi is importable: "
            "no argon2id hash for the peer's login_argon2 account"
        ) from exc
    with IDP_CONFIG.open("rb") as fh:
        params = tomllib.load(fh).get("passwords", {})
    try:
        hasher = PasswordHasher(
            time_cost=params["time_cost"],
            memory_cost=params["memory_cost"],
            parallelism=params["parallelism"],
            type=Type.ID,
        )
    except KeyError as exc:
        raise RuntimeError(f"{IDP_CONFIG} [passwords] has no {exc.args[0]}") from exc
    return hasher.hash(password), f"argon2-cffi with {IDP_CONFIG.name} [passwords]"
