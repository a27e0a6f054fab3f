"""The webhook notifier against a tiny relay served by uvicorn: signed, retried, and
never in the way of `create`."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from plugins.pocket_mfa.push.webhook import SIGNATURE_HEADER, WebhookNotifier
from tests.plugins.pocket_mfa.push.conftest import CONTEXT, PushEnv, serve

pytestmark = pytest.mark.anyio
SECRET = "relay-secret"


@dataclass
class Relay:
    url: str = ""
    #: the status codes to answer with, in order; 200 once they run out
    statuses: list[int] = field(default_factory=list)
    received: list[tuple[bytes, str]] = field(default_factory=list)
    #: seconds each answer takes
    delay: float = 0.0

    def app(self, base_url: str) -> Starlette:
        self.url = base_url + "/push"

        async def push(request: Request) -> Response:
            await asyncio.sleep(self.delay)
            self.received.append((await request.body(), request.headers[SIGNATURE_HEADER]))
            return Response(status_code=self.statuses.pop(0) if self.statuses else 200)

        return Starlette(routes=[Route("/push", push, methods=["POST"])])


@pytest.fixture
def relay() -> Iterator[Relay]:
    relay = Relay()
    with serve(relay.app):
        yield relay


async def test_signed_and_retried_after_500(push: PushEnv, relay: Relay) -> None:
    phone = push.paired_phone()
    notifier = WebhookNotifier(relay.url, SECRET, backoff=0.05)
    push.service.challenges.notifiers = [notifier]
    relay.statuses = [500]
    started = time.monotonic()
    challenge = await push.service.challenges.create(push.user.sub, CONTEXT)
    assert time.monotonic() - started < 0.5
    await notifier.drain()
    assert len(relay.received) == 2
    body, signature = relay.received[-1]
    assert relay.received[0] == relay.received[1]
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert signature == f"sha256={expected}"
    assert json.loads(body) == {
        "type": "challenge",
        "device_id": phone.device_id,
        "challenge_id": challenge.id,
        "push_address": "",
        "expires_at": challenge.expires_at,
    }


async def test_gives_up_after_three_tries(push: PushEnv, relay: Relay) -> None:
    notifier = WebhookNotifier(relay.url, SECRET, backoff=0.01)
    relay.statuses = [500, 502, 503, 500]
    ok = await notifier.deliver(b"{}")
    assert ok is False and len(relay.received) == 3


async def test_create_does_not_wait_for_a_slow_relay(push: PushEnv) -> None:
    push.paired_phone()
    # nothing listens there: connecting fails, each try after a backoff
    notifier = WebhookNotifier("http://127.0.0.1:9/push", SECRET, backoff=0.2)
    push.service.challenges.notifiers = [notifier]
    started = time.monotonic()
    await push.service.challenges.create(push.user.sub, CONTEXT)
    assert time.monotonic() - started < 0.3
    assert notifier.under_way == 1
    await notifier.aclose(grace=0)
    await asyncio.sleep(0)


async def delivery_under_way(push: PushEnv, relay: Relay, delay: float) -> WebhookNotifier:
    """A notifier with one delivery to a relay that takes `delay` seconds to answer."""
    push.paired_phone()
    notifier = WebhookNotifier(relay.url, SECRET)
    push.service.challenges.notifiers = [notifier]
    relay.delay = delay
    await push.service.challenges.create(push.user.sub, CONTEXT)
    return notifier


async def test_a_delivery_under_way_at_shutdown_may_finish(push: PushEnv, relay: Relay) -> None:
    notifier = await delivery_under_way(push, relay, delay=0.3)

    await notifier.aclose(grace=5)

    assert len(relay.received) == 1
    assert notifier.under_way == 0


async def test_a_delivery_slower_than_the_grace_is_cancelled(push: PushEnv, relay: Relay) -> None:
    notifier = await delivery_under_way(push, relay, delay=1.0)
    started = time.monotonic()

    await notifier.aclose(grace=0.1)

    assert time.monotonic() - started < 0.8
    assert notifier.under_way == 0
