"""ChallengeService and DeviceRegistry without HTTP: numbers, limits, devices."""

from __future__ import annotations

from dataclasses import replace

import pytest

from plugins.pocket_mfa.push.errors import NoDeviceError, PushLimitError
from tests.plugins.pocket_mfa.push.conftest import PushEnv


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
