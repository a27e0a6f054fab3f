"""Delivery to a partner's push relay: a signed JSON POST per device and challenge.

The body is {"type": "challenge", "device_id", "challenge_id", "push_address",
"expires_at"}; the header `X-Pocket-Signature: sha256=<hex>` is the HMAC-SHA256 of the
exact body bytes with the shared secret. Each delivery runs as a background task and
is retried with exponential backoff; `create` never waits for it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging

import httpx

from plugins.pocket_mfa.push.challenge import Challenge
from plugins.pocket_mfa.push.devices import Device

SIGNATURE_HEADER = "X-Pocket-Signature"
#: at shutdown, how long deliveries under way may take before they are cancelled
SHUTDOWN_GRACE = 2.0
log = logging.getLogger("idp.pocket.webhook")


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookNotifier:
    def __init__(
        self,
        url: str,
        secret: str,
        *,
        tries: int = 3,
        backoff: float = 0.5,
        timeout: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not url or not secret:
            raise ValueError("WebhookNotifier needs a url and a secret")
        self.url = url
        self.secret = secret
        self.tries = tries
        self.backoff = backoff
        self.timeout = timeout
        self.transport = transport
        self._tasks: set[asyncio.Task[bool]] = set()

    def notify(self, device: Device, challenge: Challenge) -> None:
        body = json.dumps(
            {
                "type": "challenge",
                "device_id": device.device_id,
                "challenge_id": challenge.id,
                "push_address": device.push_address,
                "expires_at": challenge.expires_at,
            },
            separators=(",", ":"),
        ).encode()
        task = asyncio.get_running_loop().create_task(self.deliver(body))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def deliver(self, body: bytes) -> bool:
        """POST the body until the relay answers 2xx, up to `tries` times."""
        headers = {"content-type": "application/json", SIGNATURE_HEADER: sign(self.secret, body)}
        async with httpx.AsyncClient(timeout=self.timeout, transport=self.transport) as client:
            for attempt in range(self.tries):
                if attempt:
                    await asyncio.sleep(self.backoff * 2 ** (attempt - 1))
                try:
                    response = await client.post(self.url, content=body, headers=headers)
                except httpx.HTTPError as e:
                    log.warning("pocket webhook: try %d failed: %s", attempt + 1, e)
                    continue
                if response.is_success:
                    return True
                log.warning("pocket webhook: try %d got HTTP %d", attempt + 1, response.status_code)
        log.error("pocket webhook: gave up after %d tries", self.tries)
        return False

    @property
    def under_way(self) -> int:
        """How many deliveries have not finished yet."""
        return len(self._tasks)

    async def drain(self) -> None:
        """Wait for the deliveries under way (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self, grace: float = SHUTDOWN_GRACE) -> None:
        """Give the deliveries under way `grace` seconds to finish, then cancel the rest."""
        if self._tasks and grace > 0:
            await asyncio.wait(list(self._tasks), timeout=grace)
        for task in list(self._tasks):
            task.cancel()
        await self.drain()
