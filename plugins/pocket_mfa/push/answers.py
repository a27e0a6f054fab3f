"""A device's answer to a challenge: checked in full before anything changes.

Order: the challenge exists and is open (else it was answered already, `challenge_closed`,
or closed without an answer, expired or withdrawn, `challenge_no_longer_valid`), it
belongs to the device's user, the request is well formed, the signature verifies with the
device's stored key; only then is the challenge consumed (atomically, so a replay finds it
closed) and its outcome written, the two together (`ChallengeService.settle`). The
signature is checked in place on the event loop: it is one ECDSA or Ed25519
verification, a fraction of a millisecond.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

from plugins.pocket_mfa.push import device_keys
from plugins.pocket_mfa.push.challenge import Challenge, Outcome
from plugins.pocket_mfa.push.challenges import ChallengeService
from plugins.pocket_mfa.push.devices import Device
from plugins.pocket_mfa.push.errors import (
    BadSignature,
    ChallengeClosed,
    ChallengeNoLongerValid,
    DeviceApiError,
    ForeignDevice,
    InvalidRequest,
    UnknownChallenge,
)
from plugins.pocket_mfa.push.protocol import DECISIONS, answer_message

_BASE64URL = re.compile(r"[A-Za-z0-9_-]+={0,2}")
#: what the phone is told about a challenge that expired or was withdrawn
NO_LONGER_VALID = "this request is no longer valid: the login was stopped or has expired"


@dataclass(frozen=True)
class Answer:
    decision: str
    number: int | None
    fraud: bool
    signature: bytes

    @classmethod
    def parse(cls, body: Any) -> Answer:
        if not isinstance(body, dict):
            raise InvalidRequest("the body must be a JSON object")
        decision = body.get("decision")
        if decision not in DECISIONS:
            raise InvalidRequest('decision must be "approve" or "deny"')
        number = body.get("number")
        if number is not None and (not isinstance(number, int) or isinstance(number, bool)):
            raise InvalidRequest("number must be an integer")
        fraud = body.get("fraud", False)
        if not isinstance(fraud, bool):
            raise InvalidRequest("fraud must be true or false")
        if fraud and decision != "deny":
            raise InvalidRequest("fraud can only be reported with a deny")
        text = body.get("signature")
        if not isinstance(text, str) or not text:
            raise InvalidRequest("signature is required")
        if not _BASE64URL.fullmatch(text):
            raise InvalidRequest("signature must be base64url")
        try:
            signature = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            raise InvalidRequest("signature must be base64url") from None
        return cls(decision, number, fraud, signature)


class AnswerChecker:
    def __init__(self, challenges: ChallengeService) -> None:
        self.challenges = challenges

    async def answer(self, device: Device, challenge_id: str, body: Any) -> Outcome:
        """Apply a device's answer; a DeviceApiError says why it is refused."""
        challenges = self.challenges
        challenge, is_open = await challenges.find_open(challenge_id)
        if challenge is None:
            # never made, or closed so long ago that it is forgotten
            raise ChallengeNoLongerValid(NO_LONGER_VALID)
        if not is_open:
            raise await self._closed(challenge_id)
        if challenge.sub != device.sub:
            raise ForeignDevice("this challenge is for another user's device")
        answer = Answer.parse(body)
        needs_number = challenge.numbers is not None and answer.decision == "approve"
        if needs_number and answer.number is None:
            raise InvalidRequest("number is required: pick the number the browser shows")
        message = answer_message(challenge.id, answer.decision, answer.number, answer.fraud)
        if not device_keys.verify(device.public_key, message, answer.signature):
            raise BadSignature("the signature does not verify with this device's key")
        return await self._apply(device, challenge, answer)

    async def _apply(self, device: Device, challenge: Challenge, answer: Answer) -> Outcome:
        challenges = self.challenges
        if challenge.expires_at <= challenges.clock():
            await challenges.expire(challenge, device.device_id)
            raise await self._closed(challenge.id)
        if answer.decision == "deny":
            outcome = Outcome.FRAUD if answer.fraud else Outcome.DENIED
        elif challenge.numbers is not None and answer.number != challenge.number:
            outcome = Outcome.WRONG_NUMBER
        else:
            outcome = Outcome.APPROVED
        if not await challenges.settle(challenge, outcome, device.device_id):
            raise await self._closed(challenge.id)
        # created_at is in whole seconds: the time is up to one second longer than it was
        challenges.metrics.factor_answered("push", challenges.clock() - challenge.created_at)
        if challenge.login_id is not None and outcome is not Outcome.APPROVED:
            challenges.metrics.login(outcome.value, "swk")
        success = "success" if outcome is Outcome.APPROVED else "failure"
        await challenges.audited(outcome.value, challenge, success, device_id=device.device_id)
        return outcome

    async def _closed(self, challenge_id: str) -> DeviceApiError:
        """Why a closed challenge takes no answer (an expired one is closed here, for
        the page that waits on it)."""
        try:
            outcome = await self.challenges.outcome(challenge_id)
        except UnknownChallenge:
            outcome = Outcome.EXPIRED  # forgotten since it was read
        if outcome.unanswered:
            return ChallengeNoLongerValid(NO_LONGER_VALID)
        return ChallengeClosed("the challenge was answered already")
