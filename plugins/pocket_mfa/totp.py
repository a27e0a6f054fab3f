"""Time-based one-time passwords (RFC 6238) on top of pyotp's HOTP (RFC 4226).

This module is pure: it knows nothing of users or storage. `matching_step` says which
time step a code belongs to; the caller decides whether that step may still be used.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass

import pyotp


@dataclass(frozen=True)
class TotpParams:
    """RFC 6238 section 4: T0 = 0, X = period; SHA-1 and 6 digits as apps expect."""

    period: int = 30
    digits: int = 6
    skew: int = 1
    algorithm: str = "sha1"


def new_secret() -> str:
    """A random 160-bit secret in base32 (RFC 4226 section 4 recommends 160 bits)."""
    return pyotp.random_base32(length=32)


def _totp(secret: str, params: TotpParams) -> pyotp.TOTP:
    digest = getattr(hashlib, params.algorithm)
    return pyotp.TOTP(secret, digits=params.digits, digest=digest, interval=params.period)


def step_at(params: TotpParams, now: float) -> int:
    """The time step counter T = floor((now - T0) / X) (RFC 6238 section 4.2)."""
    return int(now // params.period)


def code_at_step(secret: str, step: int, params: TotpParams) -> str:
    return _totp(secret, params).generate_otp(step)


def matching_step(
    secret: str, code: str, params: TotpParams, now: float | None = None
) -> int | None:
    """The step within the skew window whose code this is, or None (RFC 6238 section 5.2)."""
    code = normalize(code)
    # ASCII digits only: str.isdigit() takes any script's digits, which no code has
    if len(code) != params.digits or not (code.isascii() and code.isdigit()):
        return None
    current = step_at(params, time.time() if now is None else now)
    found: int | None = None
    # every candidate is compared, so the time taken does not tell which one matched
    for step in range(current - params.skew, current + params.skew + 1):
        if hmac.compare_digest(code_at_step(secret, step, params), code) and found is None:
            found = step
    return found


def normalize(code: str) -> str:
    return "".join(code.split())


def provisioning_uri(secret: str, account: str, issuer: str, params: TotpParams) -> str:
    """The otpauth:// URI that authenticator apps read from a QR code."""
    return _totp(secret, params).provisioning_uri(name=account, issuer_name=issuer)


def grouped(secret: str, size: int = 4) -> str:
    """The secret in groups of four letters, for typing it in by hand."""
    return " ".join(secret[i : i + size] for i in range(0, len(secret), size))
