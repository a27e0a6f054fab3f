"""Pairing a phone: POST /pair with the token from the wizard's QR code."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from plugins.pocket_mfa.push.devices import DEVICE_MODEL
from plugins.pocket_mfa.push.pairing import PAIRING_MODEL
from plugins.pocket_mfa.push.protocol import API_PATH
from tests.failing_commit import commits_fail
from tests.plugins.pocket_mfa.push.conftest import ISSUER, PushEnv


def test_pairing_uri_and_token(push: PushEnv) -> None:
    token, uri = push.run(push.service.pairing.create_pairing, push.user.sub)
    assert token.startswith("pp_")
    parts = urlsplit(uri)
    assert (parts.scheme, parts.netloc) == ("pocket", "pair")
    assert parse_qs(parts.query) == {"v": ["1"], "issuer": [ISSUER], "token": [token]}
    assert "issuer=https%3A%2F%2Fidp.test" in uri
    # kept hashed, never as the token itself
    assert push.run(push.service.records.find, PAIRING_MODEL, token) is None


@pytest.mark.parametrize("kind", ["ec", "ed25519"])
def test_pairing_ok(push: PushEnv, kind: str) -> None:
    token, _ = push.run(push.service.pairing.create_pairing, push.user.sub)
    phone = push.phone(kind)
    response = phone.pair(token, push_address="apns:abc")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body == {"device_id": phone.device_id, "issuer": ISSUER, "account": "alice"}
    device = push.run(push.service.pairing.paired_device, token)
    assert device is not None and device.sub == push.user.sub
    assert device.push_address == "apns:abc" and device.name == "Pixel 8"
    stored = push.run(push.service.records.find, DEVICE_MODEL, phone.device_id)
    assert stored is not None and "d" not in stored["public_key"]
    assert [d.device_id for d in push.devices()] == [phone.device_id]
    # the device can use the API at once
    assert phone.challenges() == []


def test_not_a_pairing_code(push: PushEnv) -> None:
    response = push.phone().pair("ACT-1234-5678")
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "not_a_pairing_code"
    assert "not a Pocket pairing code" in body["error_description"]
    assert "activation code is not needed for logging in" in body["error_description"]
    assert "not_a_pairing_code" in push.audit_events()


def test_used_pairing_token(push: PushEnv) -> None:
    token, _ = push.run(push.service.pairing.create_pairing, push.user.sub)
    assert push.phone().pair(token).status_code == 201
    again = push.phone().pair(token)
    assert again.status_code == 400
    assert again.json()["error"] == "used_pairing_token"
    assert len(push.devices()) == 1


def test_expired_pairing_token(push: PushEnv) -> None:
    token, _ = push.run(push.service.pairing.create_pairing, push.user.sub)
    push.clock.advance(5 * 60 + 1)
    response = push.phone().pair(token)
    assert response.status_code == 400
    assert response.json()["error"] == "expired_pairing_token"
    unknown = push.phone().pair("pp_never-issued")
    assert unknown.json()["error"] == "expired_pairing_token"
    assert push.devices() == []


def test_a_pairing_that_cannot_be_kept_uses_nothing(push: PushEnv) -> None:
    token, _ = push.run(push.service.pairing.create_pairing, push.user.sub)
    with commits_fail(push.store):
        refused = push.phone().pair(token)
    assert refused.status_code == 500
    assert refused.json()["error"] == "server_error"
    # the token was not used up, and no half-paired device is left
    assert push.devices() == []
    assert push.phone().pair(token).status_code == 201
    assert len(push.devices()) == 1


def _jwk(push: PushEnv, kind: str = "ec") -> dict[str, Any]:
    return push.phone(kind).public_key


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        {"public_key": "PUBLIC", "device_name": "x"},
        {"pairing_token": "TOKEN", "device_name": "x"},
        {"pairing_token": "TOKEN", "public_key": "PUBLIC"},
        {"pairing_token": "TOKEN", "public_key": "PUBLIC", "device_name": ""},
        {"pairing_token": "TOKEN", "public_key": "PRIVATE", "device_name": "x"},
        {"pairing_token": "TOKEN", "public_key": {"kty": "RSA", "n": "x", "e": "AQAB"}},
        {"pairing_token": "TOKEN", "public_key": "BAD_POINT", "device_name": "x"},
        {"pairing_token": "TOKEN", "public_key": "P384", "device_name": "x"},
        {"pairing_token": "TOKEN", "public_key": "PUBLIC", "device_name": "x", "push_address": 5},
    ],
)
def test_malformed_pair_requests(push: PushEnv, body: Any) -> None:
    token, _ = push.run(push.service.pairing.create_pairing, push.user.sub)
    phone = push.phone()
    keys = {
        "PUBLIC": phone.public_key,
        "PRIVATE": phone.private_key,
        "BAD_POINT": {**phone.public_key, "y": phone.public_key["x"]},
        "P384": {"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"},
    }
    if isinstance(body, dict):
        body = {k: keys.get(v, v) if isinstance(v, str) else v for k, v in body.items()}
        body = {k: token if v == "TOKEN" else v for k, v in body.items()}
        response = push.client.post(f"{API_PATH}/pair", json=body)
    else:
        response = push.client.post(f"{API_PATH}/pair", content=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"
    assert response.json()["error_description"]
    # nothing was used up: the token still pairs
    assert phone.pair(token).status_code == 201


@pytest.mark.parametrize(
    "body",
    [b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 100_000 + b"1" + b"}" * 100_000],
    ids=["arrays", "objects"],
)
def test_a_deeply_nested_pair_body_is_invalid_request(push: PushEnv, body: bytes) -> None:
    response = push.client.post(f"{API_PATH}/pair", content=body)

    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"


def test_a_device_name_with_a_lone_surrogate_is_invalid_request(push: PushEnv) -> None:
    token, _ = push.run(push.service.pairing.create_pairing, push.user.sub)
    phone = push.phone()
    body = {"pairing_token": token, "public_key": phone.public_key, "device_name": "\ud800"}

    response = push.client.post(f"{API_PATH}/pair", content=json.dumps(body))

    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"
    assert phone.pair(token).status_code == 201


@pytest.mark.anyio
async def test_wait_for_pairing_wakes_at_once(push: PushEnv) -> None:
    pairing = push.service.pairing
    token, _ = await pairing.create_pairing(push.user.sub)
    assert await pairing.wait_for_pairing(token, 0) is None
    waiter = asyncio.create_task(pairing.wait_for_pairing(token, 10))
    await asyncio.sleep(0.05)
    started = time.monotonic()
    phone = push.phone()
    response = await asyncio.to_thread(phone.pair, token)
    assert response.status_code == 201
    device = await waiter
    assert device is not None and device.device_id == phone.device_id
    assert time.monotonic() - started < 2
