"""The push attempt of a login: the challenge its page waits on, and the end of it.

A login has at most one open push. Sending a new one for the login withdraws the one
before, and so does the login's end by any other way (Stop, or a code typed instead):
the phone no longer lists a withdrawn challenge, and an answer to it is refused as no
longer valid (see push/answers.py). A login abandoned without a word (the browser
closed) cannot be told apart from a slow phone: its challenge expires as before.

The confirmation of an account change (push_confirm.py) keeps its push here the same
way, under the confirmation's id in the place of the login's.
"""

from __future__ import annotations

from idp.store import RecordView
from plugins.pocket_mfa.push.challenges import ChallengeService

#: login id -> the challenge of its current push attempt
ATTEMPT_MODEL = "login-push"
ATTEMPT_TTL = 30 * 60

#: why a challenge was withdrawn, as the audit record says
STOPPED = "stopped"
SENT_AGAIN = "sent_again"
CODE_USED = "code_used"


class PushAttempts:
    def __init__(self, records: RecordView, challenges: ChallengeService) -> None:
        self.records = records
        self.challenges = challenges

    async def current(self, login_id: str, sub: str) -> str | None:
        """The challenge the login's page waits on; None before the first push, or once
        the attempt is used up."""
        record = await self.records.find(ATTEMPT_MODEL, login_id)
        if record is None or record.get("consumed") or record.get("sub") != sub:
            return None
        return str(record["challenge"])

    async def start(self, login_id: str, sub: str, challenge_id: str) -> None:
        """The login now waits on this challenge; any other one sent for it is withdrawn.

        Read after the write: of two pushes sent for one login at the same moment, the
        one the record names last is kept, and each sender withdraws every other one."""
        payload = {"sub": sub, "challenge": challenge_id}
        await self.records.upsert(ATTEMPT_MODEL, login_id, payload, expires_in=ATTEMPT_TTL)
        keep = await self.current(login_id, sub)
        await self.challenges.withdraw_for_login(sub, login_id, SENT_AGAIN, keep=keep)

    async def use(self, login_id: str) -> bool:
        """Use the approved attempt up, once: False if another request did already."""
        async with self.records.unit():
            used = await self.records.consume(ATTEMPT_MODEL, login_id) is not None
            await self.records.destroy(ATTEMPT_MODEL, login_id)
        return used

    async def end(self, login_id: str, sub: str, reason: str) -> None:
        """The login ends without its push: forget the attempt, withdraw what is open."""
        await self.records.destroy(ATTEMPT_MODEL, login_id)
        await self.challenges.withdraw_for_login(sub, login_id, reason)
