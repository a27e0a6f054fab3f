"""A user's single sign-on sessions: listed, and ended one by one or all at once.

The store keeps each session under the digest of its cookie, indexed by its user
(Store.find_by_sub); a session is named to an administrator by its `sid`, never by
what would let anyone use it."""

from __future__ import annotations

from dataclasses import dataclass

from idp.admin.errors import NotFound
from idp.audit import AuditTrail
from idp.login.remembered_browsers import RememberedBrowsers
from idp.store import Store

#: the record model of SSO sessions (idp.login.state)
SESSION = "session"


@dataclass(frozen=True)
class SessionInfo:
    sid: str
    auth_time: int
    amr: list[str]
    acr: str


class SessionAdmin:
    def __init__(self, store: Store, audit: AuditTrail) -> None:
        self.store = store
        self.audit = audit

    async def list(self, sub: str) -> list[SessionInfo]:
        """The user's live sessions, oldest first."""
        return [
            SessionInfo(
                sid=str(payload.get("sid", "")),
                auth_time=int(payload.get("auth_time", 0)),
                amr=list(payload.get("amr", [])),
                acr=str(payload.get("acr", "")),
            )
            for _, payload in await self.store.find_by_sub(SESSION, sub)
        ]

    async def end(self, sub: str, sid: str) -> None:
        """End one session of the user; NotFound if they have none of that sid."""
        async with self.store.unit():
            for key, payload in await self.store.find_by_sub(SESSION, sub):
                if payload.get("sid") == sid:
                    await self.store.destroy(SESSION, key)
                    await self.audit.record("session_ended", sub=sub, sid=sid)
                    return
        raise NotFound(f"the user has no session {sid!r}")

    async def end_all(self, sub: str) -> int:
        """End every session of the user ("log out everywhere"): the browsers remembered
        for them are forgotten too. How many sessions there were."""
        async with self.store.unit():
            found = await self.store.find_by_sub(SESSION, sub)
            for key, _ in found:
                await self.store.destroy(SESSION, key)
            await RememberedBrowsers(self.store).forget_all(sub)
        await self.audit.record("sessions_ended", sub=sub, count=len(found))
        return len(found)
