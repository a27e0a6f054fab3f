"""Enrollment deadlines: existing users may set up their second factor later.

With `[factors] enroll_by` (a date) and/or `enroll_within_logins` (a number of logins),
a user who has no second factor yet may press "Set up later" on the wizard's first page:
the login goes on with the password alone (amr ["pwd"], the password acr), and one of
the user's postponements is used up. The count lives in the store per user (model
`enroll_postponed`, durable). Once the date has come, or the logins are used up, the
second factor is mandatory again.

Who may postpone: users who existed when the setting took effect. The first server that
starts with a setting notes the time in the store (model `enroll_policy`, one record per
setting); users created from then on enroll at their first login. A client registered
with `postpone_enrollment` false, and a login whose relying party asks for a second
factor itself (acr step-up), get no postponement either (see pipeline.py).
"""

from __future__ import annotations

import datetime
import time
from dataclasses import dataclass

from idp.i18n import Translator
from idp.settings import FactorSettings
from idp.store import Client, Store, User

#: per user: how many logins they postponed enrollment in
COUNT_MODEL = "enroll_postponed"
#: per setting: when it took effect (users created after it get no postponement)
POLICY_MODEL = "enroll_policy"


@dataclass(frozen=True)
class Allowance:
    """What a user may still postpone: logins left (None: not counted) and the last day
    (None: no date)."""

    logins_left: int | None
    last_day: datetime.date | None


class EnrollmentDeadline:
    def __init__(self, store: Store, settings: FactorSettings) -> None:
        self.store = store
        self.within_logins = settings.enroll_within_logins
        self.by = datetime.date.fromisoformat(settings.enroll_by) if settings.enroll_by else None
        self._since: int | None = None

    @property
    def configured(self) -> bool:
        return self.by is not None or self.within_logins > 0

    async def take_effect(self) -> int:
        """When this setting took effect: the first time a server started with it."""
        if self._since is None:
            policy = f"{self.by or ''}/{self.within_logins}"
            async with self.store.unit():
                await self.store.hit(f"{POLICY_MODEL}:ensure", 60)
                found = await self.store.find(POLICY_MODEL, policy)
                if found is None:
                    found = {"since": int(time.time())}
                    await self.store.upsert(POLICY_MODEL, policy, found)
            self._since = int(found["since"])
        return self._since

    async def allowance(self, user: User, client: Client) -> Allowance | None:
        """What the user may still postpone in a login to `client`; None if nothing."""
        if not self.configured or not client.postpone_enrollment:
            return None
        if user.created_at >= await self.take_effect():
            return None
        last_day = None
        if self.by is not None:
            today = datetime.datetime.now(datetime.UTC).date()
            if today >= self.by:
                return None
            last_day = self.by - datetime.timedelta(days=1)
        left = None
        if self.within_logins:
            used = await self.store.find(COUNT_MODEL, user.sub)
            left = self.within_logins - int((used or {}).get("count", 0))
            if left <= 0:
                return None
        return Allowance(left, last_day)

    async def postpone(self, user: User, client: Client) -> bool:
        """Use up one postponement of the user; False if none is left."""
        async with self.store.unit():
            # two logins of the user that postpone at once count one after the other
            await self.store.hit(f"{COUNT_MODEL}:{user.sub}", 60)
            if await self.allowance(user, client) is None:
                return False
            used = await self.store.find(COUNT_MODEL, user.sub)
            count = int((used or {}).get("count", 0)) + 1
            await self.store.upsert(COUNT_MODEL, user.sub, {"count": count}, sub=user.sub)
        return True


def postpone_label(t: Translator, allowance: Allowance) -> str:
    """The "Set up later" button's text: the logins left and/or the last day."""
    left, last_day = allowance.logins_left, allowance.last_day
    if left is not None and last_day is not None:
        return t("postpone.logins_until", count=left, date=last_day.isoformat())
    if left is not None:
        return t("postpone.logins", count=left)
    return t("postpone.until", date=str(last_day))
