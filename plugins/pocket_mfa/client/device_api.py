"""Device API v1 over HTTP: what a phone sends and reads (see push/openapi.py)."""

from __future__ import annotations

import base64
from typing import Any

import httpx

from plugins.pocket_mfa.client import device_key
from plugins.pocket_mfa.client.state import DeviceState
from plugins.pocket_mfa.push.protocol import MAX_WAIT, answer_message, api_base


class ApiError(Exception):
    """The IdP refused a request; `error` is the device API's error code."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"{description} ({error}, HTTP {status})")
        self.status = status
        self.error = error
        self.description = description


def _check(response: httpx.Response) -> Any:
    if response.is_success:
        return response.json() if response.content else None
    try:
        body = response.json()
        error, description = body["error"], body.get("error_description", "")
    except (ValueError, KeyError, TypeError):
        error, description = "http_error", response.text[:200] or response.reason_phrase
    raise ApiError(response.status_code, error, description)


def pair(
    base_url: str,
    token: str,
    public_key: dict[str, Any],
    name: str,
    push_address: str = "",
    timeout: float = 10.0,
) -> dict[str, Any]:
    body = {"pairing_token": token, "public_key": public_key, "device_name": name}
    if push_address:
        body["push_address"] = push_address
    with httpx.Client(timeout=timeout) as client:
        result: dict[str, Any] = _check(client.post(f"{base_url}/pair", json=body))
    return result


class DeviceApi:
    """Signed requests of a paired device."""

    def __init__(self, state: DeviceState, timeout: float = 10.0) -> None:
        self.state = state
        self.audience = api_base(state.issuer)
        self.client = httpx.Client(base_url=state.base_url, timeout=timeout + MAX_WAIT)

    def __enter__(self) -> DeviceApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()

    def _auth(self) -> dict[str, str]:
        s = self.state
        token = device_key.device_token(s.private_key, s.alg, s.device_id, self.audience)
        return {"authorization": f"Device {token}"}

    def challenges(self, wait: float = 0) -> list[dict[str, Any]]:
        params = {"wait": str(int(wait))}
        body = _check(self.client.get("/challenges", params=params, headers=self._auth()))
        found: list[dict[str, Any]] = body["challenges"]
        return found

    def answer(
        self, challenge_id: str, decision: str, number: int | None = None, fraud: bool = False
    ) -> str:
        message = answer_message(challenge_id, decision, number, fraud)
        signature = device_key.sign(self.state.private_key, message)
        body: dict[str, Any] = {
            "decision": decision,
            "fraud": fraud,
            "signature": base64.urlsafe_b64encode(signature).rstrip(b"=").decode(),
        }
        if number is not None:
            body["number"] = number
        url = f"/challenges/{challenge_id}/answer"
        result = _check(self.client.post(url, json=body, headers=self._auth()))
        return str(result["status"])

    def device(self) -> dict[str, Any]:
        result: dict[str, Any] = _check(self.client.get("/device", headers=self._auth()))
        return result

    def unpair(self) -> None:
        _check(self.client.delete("/device", headers=self._auth()))
