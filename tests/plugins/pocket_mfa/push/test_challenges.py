"""ChallengeService and DeviceRegistry: numbers, limits, devices."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from plugins.pocket_mfa.push.challenge import Challenge
from plugins.pocket_mfa.push.errors import NoDeviceError, PushLimitError
from tests.plugins.pocket_mfa.push.conftest import CONTEXT, Phone, PushEnv


def test_numbers(push: PushEnv) -> None:
    push.paired_phone()
    push.service.challenges.config = replace(push.service.config, push_limit=50)
    for _ in range(40):
        challenge = push.challenge()
        assert challenge.numbers is not None
        assert 10 <= challenge.number <= 99
        assert len(set(challenge.numbers)) == 3 and challenge.number in challenge.numbers


def test_push_limit(push: PushEnv) -> None:
    push.paired_phone()
    for _ in range(3):
        push.challenge()
    with pytest.raises(PushLimitError, match="at most 3 push challenges per 60 s"):
        push.challenge()
    assert "push_limit" in push.audit_events()
    # another user is not affected
    bob = push.add_user("bob")
    push.paired_phone(bob)
    push.challenge(bob)


def wrong_number(challenge: Challenge) -> int:
    assert challenge.numbers is not None
    return next(n for n in challenge.numbers if n != challenge.number)


def test_approved_pushes_do_not_count_against_the_limit(push: PushEnv) -> None:
    phone = push.paired_phone()
    for _ in range(3 * push.service.config.push_limit):
        challenge = push.challenge()
        assert phone.answer(challenge.id, "approve", challenge.number).status_code == 200
    assert "push_limit" not in push.audit_events()


def test_one_approval_and_two_wrong_taps_leave_room_for_one_more(push: PushEnv) -> None:
    phone = push.paired_phone()
    first = push.challenge()
    phone.answer(first.id, "approve", first.number)
    for _ in range(2):
        challenge = push.challenge()
        assert phone.answer(challenge.id, "approve", wrong_number(challenge)).json() == {
            "status": "wrong_number"
        }
    push.challenge()  # the third push that was not approved
    with pytest.raises(PushLimitError):
        push.challenge()


def answer_each(phone: Phone, challenges: list[Challenge]) -> None:
    """A denial, a wrong number, and one left to expire: all signs of push bombing."""
    deny, wrong, _ = challenges
    assert phone.answer(deny.id, "deny").json() == {"status": "denied"}
    assert phone.answer(wrong.id, "approve", wrong_number(wrong)).status_code == 200


def test_denied_wrong_and_unanswered_pushes_count(push: PushEnv) -> None:
    phone = push.paired_phone()
    sent = [push.challenge() for _ in range(push.service.config.push_limit)]
    answer_each(phone, sent)
    push.clock.advance(push.service.config.challenge_ttl + 1)  # the third one expires
    assert phone.challenges() == []
    with pytest.raises(PushLimitError):
        push.challenge()
    # refused sends keep no place: once the window is over, the user may try again
    assert push.run(push.service.records.count, f"push:{push.user.sub}") == 3


def test_withdrawn_pushes_count(push: PushEnv) -> None:
    push.paired_phone()
    challenges = push.service.challenges
    for _ in range(push.service.config.push_limit):
        assert push.run(challenges.withdraw, push.challenge(), "stopped") is True
    with pytest.raises(PushLimitError):
        push.challenge()


@pytest.mark.anyio
async def test_a_burst_of_sends_stays_within_the_limit(push: PushEnv) -> None:
    phone = push.paired_phone()
    challenges = push.service.challenges
    limit = push.service.config.push_limit
    results = await asyncio.gather(
        *(challenges.create(push.user.sub, CONTEXT) for _ in range(4 * limit)),
        return_exceptions=True,
    )
    sent = [r for r in results if isinstance(r, Challenge)]
    assert len(sent) == limit
    assert all(isinstance(r, PushLimitError) for r in results if r not in sent)
    # approving one of them makes room for exactly one more
    assert phone.answer(sent[0].id, "approve", sent[0].number).status_code == 200
    await challenges.create(push.user.sub, CONTEXT)
    with pytest.raises(PushLimitError):
        await challenges.create(push.user.sub, CONTEXT)


def test_no_device(push: PushEnv) -> None:
    with pytest.raises(NoDeviceError):
        push.challenge()


def test_several_devices_list_remove_reset(push: PushEnv) -> None:
    devices = push.service.devices
    first, second = push.paired_phone(), push.paired_phone(kind="ed25519")
    bob = push.add_user("bob")
    bobs = push.paired_phone(bob)
    listed = push.devices()
    assert {d.device_id for d in listed} == {first.device_id, second.device_id}
    assert all(d.name and d.paired_at and d.last_used for d in listed)
    # a phone sees the user's challenges, whichever of them it is
    challenge = push.challenge()
    assert [c["id"] for c in second.challenges()] == [challenge.id]
    assert push.run(devices.remove, push.user.sub, bobs.device_id) is False
    assert push.run(devices.remove, push.user.sub, first.device_id) is True
    assert [d.device_id for d in push.devices()] == [second.device_id]
    assert push.run(devices.reset, push.user.sub) == 1
    assert push.devices() == []
    assert [d.device_id for d in push.devices(bob)] == [bobs.device_id]
