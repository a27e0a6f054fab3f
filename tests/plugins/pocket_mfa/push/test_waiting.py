"""Waiting without polling: the phone's long-poll and the login page's wait for an answer
both end the moment something happens."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from plugins.pocket_mfa.push.challenge import Outcome
from plugins.pocket_mfa.push.protocol import API_PATH
from tests.plugins.pocket_mfa.push.conftest import CONTEXT, ISSUER, PushEnv, make_app

pytestmark = pytest.mark.anyio


def async_client(push: PushEnv) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=make_app(push.service))
    return httpx.AsyncClient(transport=transport, base_url=ISSUER)


async def test_long_poll_returns_when_a_challenge_is_created(push: PushEnv) -> None:
    phone = push.paired_phone()
    async with async_client(push) as client:
        started = time.monotonic()
        poll = asyncio.create_task(
            client.get(f"{API_PATH}/challenges?wait=20", headers=phone.auth())
        )
        await asyncio.sleep(0.2)
        assert not poll.done()
        challenge = await push.service.challenges.create(push.user.sub, CONTEXT)
        response = await poll
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert [c["id"] for c in response.json()["challenges"]] == [challenge.id]
    assert elapsed < 2, elapsed


async def test_long_poll_returns_at_once_with_pending(push: PushEnv) -> None:
    phone = push.paired_phone()
    await push.service.challenges.open(push.user.sub, CONTEXT)
    async with async_client(push) as client:
        started = time.monotonic()
        response = await client.get(f"{API_PATH}/challenges?wait=20", headers=phone.auth())
    assert len(response.json()["challenges"]) == 1
    assert time.monotonic() - started < 1


async def test_long_poll_times_out_empty(push: PushEnv) -> None:
    phone = push.paired_phone()
    async with async_client(push) as client:
        response = await client.get(f"{API_PATH}/challenges?wait=0.3", headers=phone.auth())
        assert response.json() == {"challenges": []}
        too_long = await client.get(f"{API_PATH}/challenges?wait=31", headers=phone.auth())
    assert too_long.status_code == 400 and too_long.json()["error"] == "invalid_request"


@pytest.mark.parametrize(
    ("decision", "fraud", "expected"),
    [
        ("approve", False, Outcome.APPROVED),
        ("deny", False, Outcome.DENIED),
        ("deny", True, Outcome.FRAUD),
    ],
)
async def test_wait_for_answer_ends_at_once(
    push: PushEnv, decision: str, fraud: bool, expected: Outcome
) -> None:
    phone = push.paired_phone()
    challenges = push.service.challenges
    challenge = await challenges.create(push.user.sub, CONTEXT)
    waiting = asyncio.create_task(challenges.wait_for_answer(challenge.id, 60))
    await asyncio.sleep(0.1)
    assert not waiting.done()
    started = time.monotonic()
    number = challenge.number if decision == "approve" else None
    async with async_client(push) as client:
        body = {
            "decision": decision,
            "fraud": fraud,
            "signature": phone.signature(challenge.id, decision, number, fraud),
        }
        if number is not None:
            body["number"] = number
        url = f"{API_PATH}/challenges/{challenge.id}/answer"
        response = await client.post(url, json=body, headers=phone.auth())
    assert response.status_code == 200, response.text
    assert await waiting is expected
    assert time.monotonic() - started < 2


async def test_wait_for_answer_pending_then_expired(push: PushEnv) -> None:
    push.paired_phone()
    challenges = push.service.challenges
    challenge = await challenges.create(push.user.sub, CONTEXT)
    assert await challenges.wait_for_answer(challenge.id, 0.1) is Outcome.PENDING
    push.clock.advance(121)
    assert await challenges.wait_for_answer(challenge.id, 5) is Outcome.EXPIRED
