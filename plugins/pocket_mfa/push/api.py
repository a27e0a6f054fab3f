"""Device API v1: the JSON endpoints a Pocket phone talks to.

Mounted by the plugin at /factors/pocket/api/v1/; paths here are relative to it. Every
request except POST /pair is signed by the device (see device_tokens.py). Refusals are
JSON {"error", "error_description"} and each one is audited, except a refusal for
too many requests from one address ([rate_limits] device_api), which writes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from idp.factors import JsonInputError, RateLimiter, parse_json
from idp.store import StoreError, StoreUnavailable
from plugins.pocket_mfa.push import device_keys
from plugins.pocket_mfa.push.devices import Device
from plugins.pocket_mfa.push.errors import (
    DeviceApiError,
    InvalidRequest,
    NotAPairingCodeError,
    TooManyRequests,
)
from plugins.pocket_mfa.push.openapi import openapi_document
from plugins.pocket_mfa.push.protocol import MAX_WAIT, NotAPairingCode, is_pairing_token
from plugins.pocket_mfa.push.service import PushService

NO_STORE = {"cache-control": "no-store"}
Handler = Callable[[Request], Awaitable[Response]]


def device_routes(service: PushService, rate_limits: RateLimiter | None = None) -> list[BaseRoute]:
    """The API's routes; each request counts against its address in `rate_limits` (None:
    no limit)."""
    api = DeviceApi(service, rate_limits)
    return [
        Route("/pair", api.guard(api.pair), methods=["POST"]),
        Route("/challenges", api.guard(api.challenges), methods=["GET"]),
        Route("/challenges/{id}/answer", api.guard(api.answer), methods=["POST"]),
        Route("/device", api.guard(api.device), methods=["GET", "DELETE"]),
        Route("/openapi.json", api.openapi, methods=["GET"]),
    ]


#: what a phone is told to wait before trying again while the store is unreachable
RETRY_AFTER_SECONDS = 5
UNAVAILABLE = "The server cannot reach its store at the moment; try again shortly."
STORE_FAILED = "The server could not keep this; nothing was changed. Try again."

log = logging.getLogger("idp.pocket")


def error_response(e: DeviceApiError) -> Response:
    body = {"error": e.error, "error_description": e.description}
    headers = dict(NO_STORE)
    if e.status == 401:
        headers["www-authenticate"] = 'Device error="invalid_device_token"'
    if isinstance(e, TooManyRequests):
        headers["retry-after"] = str(e.retry_after)
    return JSONResponse(body, status_code=e.status, headers=headers)


class DeviceApi:
    def __init__(self, service: PushService, rate_limits: RateLimiter | None = None) -> None:
        self.s = service
        self.rate_limits = rate_limits

    def guard(self, handler: Handler) -> Handler:
        """Turn refusals into JSON errors and audit each one."""

        async def guarded(request: Request) -> Response:
            try:
                await self._count(request)
                return await handler(request)
            except TooManyRequests as e:
                return error_response(e)  # not audited: a flood would write as much
            except DeviceApiError as e:
                device: Device | None = request.scope.get("pocket.device")
                await self.s.audit.record(
                    e.error,
                    outcome="failure",
                    description=e.description,
                    path=request.url.path,
                    device_id=device.device_id if device else None,
                    sub=device.sub if device else None,
                    ip=request.client.host if request.client else None,
                )
                return error_response(e)
            except StoreUnavailable:
                # the store is down for now: the phone may try again shortly
                body = {"error": "temporarily_unavailable", "error_description": UNAVAILABLE}
                headers = {**NO_STORE, "retry-after": str(RETRY_AFTER_SECONDS)}
                return JSONResponse(body, status_code=503, headers=headers)
            except StoreError:
                log.exception("the store failed on %s %s", request.method, request.url.path)
                body = {"error": "server_error", "error_description": STORE_FAILED}
                return JSONResponse(body, status_code=500, headers=NO_STORE)

        return guarded

    async def _count(self, request: Request) -> None:
        """Count the request against its address; TooManyRequests past the limit."""
        if self.rate_limits is None:
            return
        address = request.client.host if request.client else "unknown"
        retry_after = await self.rate_limits.retry_after("device_api", address)
        if retry_after is not None:
            raise TooManyRequests(retry_after)

    async def _device(self, request: Request) -> Device:
        header = request.headers.get("authorization")
        device = await self.s.tokens.authenticate(header)
        request.scope["pocket.device"] = device
        return device

    # --- POST /pair
    async def pair(self, request: Request) -> Response:
        body = await _json(request)
        token, name = body.get("pairing_token"), body.get("device_name")
        push_address = body.get("push_address") or ""
        if not isinstance(token, str) or not token:
            raise InvalidRequest("pairing_token is required")
        if not is_pairing_token(token):
            raise NotAPairingCodeError(str(NotAPairingCode()))
        if not isinstance(name, str) or not name.strip() or len(name) > 100:
            raise InvalidRequest("device_name is required (at most 100 characters)")
        if not isinstance(push_address, str) or len(push_address) > 4096:
            raise InvalidRequest("push_address must be a string")
        if "public_key" not in body:
            raise InvalidRequest("public_key is required")
        key, alg = device_keys.public_jwk(body["public_key"])
        device = await self.s.pairing.pair(token, key, alg, name.strip(), push_address)
        request.scope["pocket.device"] = device
        account = await self.s.username(device.sub)
        payload = {"device_id": device.device_id, "issuer": self.s.issuer, "account": account}
        return JSONResponse(payload, status_code=201, headers=NO_STORE)

    # --- GET /challenges?wait=
    async def challenges(self, request: Request) -> Response:
        device = await self._device(request)
        try:
            wait = float(request.query_params.get("wait", "0"))
        except ValueError:
            raise InvalidRequest("wait must be a number of seconds") from None
        if not 0 <= wait <= MAX_WAIT:
            raise InvalidRequest(f"wait must be between 0 and {MAX_WAIT}")
        found = await self.s.challenges.wait_for_challenges(device.sub, wait)
        body = {"challenges": [c.for_device() for c in found]}
        return JSONResponse(body, headers=NO_STORE)

    # --- POST /challenges/{id}/answer
    async def answer(self, request: Request) -> Response:
        device = await self._device(request)
        body = await _json(request)
        challenge_id = request.path_params["id"]
        outcome = await self.s.answers.answer(device, challenge_id, body)
        return JSONResponse({"status": outcome.value}, headers=NO_STORE)

    # --- GET, DELETE /device
    async def device(self, request: Request) -> Response:
        device = await self._device(request)
        if request.method == "DELETE":
            async with self.s.records.unit():
                await self.s.devices.remove(device.sub, device.device_id)
                await self.s.audit.record(
                    "device_unpaired", sub=device.sub, device_id=device.device_id
                )
            return Response(status_code=204, headers=NO_STORE)
        return JSONResponse(device.info(), headers=NO_STORE)

    # --- GET /openapi.json
    async def openapi(self, request: Request) -> Response:
        return JSONResponse(openapi_document(self.s.issuer))


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = parse_json(await request.body())
    except JsonInputError as e:
        raise InvalidRequest(f"the body is {e}") from None
    if not isinstance(body, dict):
        raise InvalidRequest("the body must be a JSON object")
    return body
