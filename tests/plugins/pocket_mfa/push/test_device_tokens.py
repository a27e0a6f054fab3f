"""Device requests are signed JWTs: bad, expired or replayed ones are refused with 401."""

from __future__ import annotations

import base64
import json
import secrets
from typing import Any

import pytest
from jwcrypto.jwk import JWK
from jwcrypto.jwt import JWT

from plugins.pocket_mfa.client import device_key
from plugins.pocket_mfa.push.protocol import API_PATH, api_base
from tests.plugins.pocket_mfa.push.conftest import ISSUER, Phone, PushEnv


def signed(phone: Phone, header: dict[str, Any] | None = None, **claims: Any) -> str:
    now = int(phone.clock())
    base = {
        "iss": phone.device_id,
        "aud": api_base(ISSUER),
        "iat": now,
        "exp": now + 60,
        "jti": secrets.token_hex(8),
    }
    token = JWT(header=header or {"alg": phone.alg}, claims={**base, **claims})
    token.make_signed_token(JWK.from_json(json.dumps(phone.private_key)))
    return str(token.serialize())


def get_device(push: PushEnv, authorization: str | None) -> Any:
    headers = {"authorization": authorization} if authorization else {}
    return push.client.get(f"{API_PATH}/device", headers=headers)


def test_device_info_and_last_used(push: PushEnv) -> None:
    phone = push.paired_phone()
    push.clock.advance(70)
    response = get_device(push, f"Device {signed(phone)}")
    assert response.status_code == 200, response.text
    info = response.json()
    assert info["device_id"] == phone.device_id and info["name"] == "Pixel 8"
    assert info["last_used"] == int(push.clock()) and info["paired_at"] < info["last_used"]

    # kept to the minute: a device polling again within it writes nothing
    used = info["last_used"]
    push.clock.advance(30)
    assert get_device(push, f"Device {signed(phone)}").json()["last_used"] == used
    push.clock.advance(31)
    assert get_device(push, f"Device {signed(phone)}").json()["last_used"] == used + 61


def test_device_token_replay(push: PushEnv) -> None:
    phone = push.paired_phone()
    token = signed(phone)
    assert get_device(push, f"Device {token}").status_code == 200
    again = get_device(push, f"Device {token}")
    assert again.status_code == 401
    assert again.json()["error"] == "invalid_device_token"
    assert "invalid_device_token" in push.audit_events()


@pytest.mark.parametrize(
    "case",
    ["none", "bearer", "garbage", "expired", "too_long", "future", "aud", "no_jti", "alg", "iss"],
)
def test_bad_device_tokens(push: PushEnv, case: str) -> None:
    phone = push.paired_phone()
    other = push.paired_phone()
    now = int(push.clock())
    tokens = {
        "none": None,
        "bearer": f"Bearer {signed(phone)}",
        "garbage": "Device not.a.jwt",
        "expired": f"Device {signed(phone, iat=now - 100, exp=now - 1)}",
        "too_long": f"Device {signed(phone, exp=now + 121)}",
        "future": f"Device {signed(phone, iat=now + 100, exp=now + 110)}",
        "aud": f"Device {signed(phone, aud=ISSUER)}",
        "no_jti": f"Device {signed(phone, jti='')}",
        "alg": None,
        # signed by one device, claiming to be the other
        "iss": f"Device {signed(phone, iss=other.device_id)}",
    }
    if case == "alg":
        hmac_key = JWK.generate(kty="oct", size=256)
        token = JWT(header={"alg": "HS256"}, claims={"iss": phone.device_id})
        token.make_signed_token(hmac_key)
        tokens["alg"] = f"Device {token.serialize()}"
    response = get_device(push, tokens[case])
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_device_token"
    assert response.headers["www-authenticate"].startswith("Device")


def test_a_deeply_nested_token_payload_is_invalid_device_token(push: PushEnv) -> None:
    # the payload is read before any signature is checked, to find the device's key
    push.paired_phone()
    header, payload = (
        base64.urlsafe_b64encode(part).rstrip(b"=").decode()
        for part in (b'{"alg":"ES256"}', b"[" * 50_000 + b"]" * 50_000)
    )

    response = get_device(push, f"Device {header}.{payload}.c2ln")

    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_device_token"
    assert response.headers["www-authenticate"].startswith("Device")


@pytest.mark.parametrize("crit", [1.5, [[1]]])
def test_a_crit_header_that_is_not_a_list_of_names_is_invalid_device_token(
    push: PushEnv, crit: Any
) -> None:
    # signed by the device, so that only the header is wrong (RFC 7515 4.1.11)
    phone = push.paired_phone()
    header = {"alg": phone.alg, "crit": crit}
    now = int(push.clock())
    claims = {"iss": phone.device_id, "aud": api_base(ISSUER), "iat": now, "exp": now + 60}
    parts = [
        base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()
        for part in (header, {**claims, "jti": secrets.token_hex(8)})
    ]
    signing_input = ".".join(parts)
    signature = device_key.sign(phone.private_key, signing_input.encode())
    token = f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"

    response = get_device(push, f"Device {token}")

    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_device_token"


def test_unpair_itself(push: PushEnv) -> None:
    phone = push.paired_phone()
    response = push.client.delete(f"{API_PATH}/device", headers=phone.auth())
    assert response.status_code == 204
    assert push.devices() == []
    assert get_device(push, f"Device {signed(phone)}").status_code == 401
