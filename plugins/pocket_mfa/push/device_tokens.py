"""Device requests: `Authorization: Device <JWT>` signed with the device's own key.

Claims (RFC 7519 section 4.1): iss = device id, aud = the device API's URL, iat, exp
(at most MAX_TOKEN_LIFETIME seconds after iat) and jti, which is accepted once: it is
remembered as a counter until the token expires. The signature is checked in place on
the event loop, like a device's answer (answers.py).
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from typing import Any, TypeGuard

from jwcrypto.common import JWException
from jwcrypto.jws import JWS

from idp.factors import parse_json
from idp.store import RecordView
from plugins.pocket_mfa.push.device_keys import load_key
from plugins.pocket_mfa.push.devices import Device, DeviceRegistry
from plugins.pocket_mfa.push.errors import InvalidDeviceToken
from plugins.pocket_mfa.push.protocol import MAX_TOKEN_LIFETIME, api_base

SCHEME = "device"
#: clock difference between phone and server that is tolerated, in seconds
LEEWAY = 30
JTI_COUNTER = "jti"


class DeviceTokens:
    def __init__(
        self,
        records: RecordView,
        devices: DeviceRegistry,
        issuer: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.records = records
        self.devices = devices
        self.audience = api_base(issuer)
        self.clock = clock

    async def authenticate(self, authorization: str | None) -> Device:
        """The device that signed this header; InvalidDeviceToken otherwise."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != SCHEME or not token.strip():
            raise InvalidDeviceToken("send Authorization: Device <JWT signed by the device key>")
        token = token.strip()
        header, unverified = _unverified(token)
        device_id = unverified.get("iss")
        device = await self.devices.get(device_id) if isinstance(device_id, str) else None
        if device is None:
            raise InvalidDeviceToken("unknown device")
        if header.get("alg") != device.alg:
            raise InvalidDeviceToken(f"the token must be signed with {device.alg}")
        claims = self._verified_claims(token, device)
        await self._check_claims(claims, device)
        return await self.devices.touch(device)

    def _verified_claims(self, token: str, device: Device) -> dict[str, Any]:
        jws = JWS()
        try:
            jws.deserialize(token)
            jws.allowed_algs = [device.alg]
            jws.verify(load_key(device.public_key), alg=device.alg)
            claims = parse_json(jws.payload)
        except (JWException, ValueError) as e:
            raise InvalidDeviceToken(f"the token signature does not verify: {e}") from None
        if not isinstance(claims, dict):
            raise InvalidDeviceToken("the token claims are not a JSON object")
        return claims

    async def _check_claims(self, claims: dict[str, Any], device: Device) -> None:
        now = self.clock()
        iat, exp, jti = claims.get("iat"), claims.get("exp"), claims.get("jti")
        if claims.get("aud") != self.audience:
            raise InvalidDeviceToken(f"aud must be {self.audience}")
        if not _number(iat) or not _number(exp) or not isinstance(jti, str) or not jti:
            raise InvalidDeviceToken("iat, exp and jti are required")
        if exp - iat > MAX_TOKEN_LIFETIME or exp <= iat:
            raise InvalidDeviceToken(f"exp must be within {MAX_TOKEN_LIFETIME} s after iat")
        if exp < now or iat > now + LEEWAY:
            raise InvalidDeviceToken("the token has expired or is not valid yet")
        window = int(exp - now) + LEEWAY + 1
        if await self.records.hit(f"{JTI_COUNTER}:{device.device_id}:{jti}", window) > 1:
            raise InvalidDeviceToken("the token was used already (jti replay)")


def _number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and payload, read before the signature is checked: the payload names the
    device whose key checks it, the header its algorithm. Both are read here, with the
    bounded JSON parser, and must be JSON objects; jwcrypto's own reading of the header
    (JWS.jose_header) fails with a TypeError on a "crit" that is not a list of names."""
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidDeviceToken("not a compact JWT")
    try:
        header, payload = (parse_json(_b64decode(part)) for part in parts[:2])
    except ValueError:
        raise InvalidDeviceToken("not a compact JWT") from None
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise InvalidDeviceToken("the token header and claims are not JSON objects")
    return header, payload


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
