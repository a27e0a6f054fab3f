"""Delivery of events to a receiver ([audit] webhook_url), in the background.

Each event is POSTed as its JSON record; the header `X-Idp-Signature: sha256=<hex>` is the
HMAC-SHA256 of the exact body bytes with [audit] webhook_secret (the same form as the
Pocket push webhook's). A request only puts the body in a bounded queue and never waits:
one task delivers them in order, trying each up to `tries` times with exponential backoff,
and gives one up with a log line. A full queue drops the new event's delivery with a log
line (the event is in the store and the JSON lines all the same). At shutdown the queue
gets a few seconds to empty, then what is left is cancelled.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging

import httpx

SIGNATURE_HEADER = "X-Idp-Signature"
#: at shutdown, how long the deliveries still queued may take before they are cancelled
SHUTDOWN_GRACE = 3.0
log = logging.getLogger("idp.audit.webhook")


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class AuditWebhook:
    def __init__(
        self,
        url: str,
        secret: str,
        *,
        tries: int = 5,
        queue_size: int = 1000,
        backoff: float = 0.5,
        timeout: float = 5.0,
    ) -> None:
        self.url = url
        self.secret = secret
        self.tries = tries
        self.queue_size = queue_size
        self.backoff = backoff
        self.timeout = timeout
        self._queue: asyncio.Queue[bytes] | None = None
        self._worker: asyncio.Task[None] | None = None

    def send(self, body: bytes) -> None:
        """Queue one event's body for delivery; returns at once."""
        if self._worker is None or self._worker.done():
            self._queue = asyncio.Queue(self.queue_size)
            self._worker = asyncio.get_running_loop().create_task(self._deliver_all())
        assert self._queue is not None
        try:
            self._queue.put_nowait(body)
        except asyncio.QueueFull:
            log.error("audit webhook: %d events wait already; one was dropped", self.queue_size)

    async def _deliver_all(self) -> None:
        assert self._queue is not None
        queue = self._queue
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            while True:
                body = await queue.get()
                try:
                    await self._deliver(client, body)
                finally:
                    queue.task_done()

    async def _deliver(self, client: httpx.AsyncClient, body: bytes) -> bool:
        headers = {"content-type": "application/json", SIGNATURE_HEADER: sign(self.secret, body)}
        for attempt in range(self.tries):
            if attempt:
                await asyncio.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                response = await client.post(self.url, content=body, headers=headers)
            except httpx.HTTPError as e:
                log.warning("audit webhook: try %d failed: %s", attempt + 1, e)
                continue
            if response.is_success:
                return True
            log.warning("audit webhook: try %d got HTTP %d", attempt + 1, response.status_code)
        log.error("audit webhook: gave up an event after %d tries", self.tries)
        return False

    async def aclose(self, grace: float = SHUTDOWN_GRACE) -> None:
        """Give the queued deliveries `grace` seconds to finish, then cancel the rest."""
        worker, queue = self._worker, self._queue
        if worker is None or queue is None:
            return
        if not worker.done():
            try:
                await asyncio.wait_for(queue.join(), grace)
            except TimeoutError:
                log.error("audit webhook: %d events not delivered at shutdown", queue.qsize())
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
        self._worker = self._queue = None
