"""Registration and authentication, from the options a page sends the browser to the
passkey its answer proves. One refusal (PasskeyRefused) for every way an answer fails;
the detail goes to the log.

amr (RFC 8176) of a passkey: "swk" always, "user" when the authenticator verified the
user (the UV flag); see the README's amr table for why never "hwk"."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.structs import UserVerificationRequirement

from idp.factors import FactorHost
from idp.store import User
from plugins.passkeys.challenges import Challenges
from plugins.passkeys.errors import PasskeyRefused
from plugins.passkeys.passkeys import Passkey, Passkeys
from plugins.passkeys.relying_party import Assertion, RelyingParty, credential_id

log = logging.getLogger("plugins.passkeys")

#: the longest name a user may give a passkey
NAME_LENGTH = 60


def amr_for(user_verified: bool) -> list[str]:
    """The RFC 8176 methods of one use of a passkey."""
    return ["swk", "user"] if user_verified else ["swk"]


def user_handle(user: User) -> bytes:
    """WebAuthn's user.id: the sub, a random UUID that names nobody."""
    return user.sub.encode()


def _parse(answer: object) -> dict[str, Any]:
    """The browser's answer, a PublicKeyCredential as JSON."""
    try:
        parsed = json.loads(answer) if isinstance(answer, str) else None
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise PasskeyRefused("malformed", "the answer is not a JSON object")
    return parsed


@dataclass(frozen=True)
class Ceremonies:
    host: FactorHost
    rp: RelyingParty
    passkeys: Passkeys
    challenges: Challenges

    async def start_registration(self, user: User, purpose: str, bound_to: str) -> tuple[str, str]:
        """(challenge id, options JSON) for a new passkey of `user`."""
        exclude = [base64url_to_bytes(p.id) for p in await self.passkeys.list(user.sub)]
        challenge, options = await self.host.run_blocking(
            lambda: self.rp.registration_options(
                user_handle=user_handle(user),
                user_name=user.username,
                display_name=user.name or user.username,
                exclude=exclude,
            )
        )
        return await self.challenges.keep(challenge, purpose, bound_to), options

    async def finish_registration(
        self,
        user: User,
        purpose: str,
        bound_to: str,
        challenge_id: object,
        answer: object,
        name: str,
    ) -> tuple[Passkey, bool]:
        """The passkey kept, and whether the authenticator verified the user."""
        challenge = await self.challenges.take(challenge_id, purpose, bound_to)
        if challenge is None:
            raise PasskeyRefused("expired", "unknown, used or expired challenge")
        parsed = _parse(answer)
        new = await self.host.run_blocking(self.rp.check_registration, parsed, challenge.value)
        if await self.passkeys.find(new.id) is not None:
            raise PasskeyRefused("failed", "the credential is registered already")
        passkey = Passkey(
            id=new.id,
            sub=user.sub,
            name=name.strip()[:NAME_LENGTH],
            public_key=new.public_key,
            sign_count=new.sign_count,
            created_at=int(time.time()),
            aaguid=new.aaguid,
            backup_eligible=new.backup_eligible,
            backup_state=new.backup_state,
            transports=new.transports,
        )
        await self.passkeys.add(passkey)
        log.info("passkey registered for %s (backup eligible: %s)", user.sub, new.backup_eligible)
        return passkey, new.user_verified

    async def start_authentication(
        self, purpose: str, bound_to: str, sub: str | None, verification: str
    ) -> tuple[str, str]:
        """(challenge id, options JSON): with `sub`, that user's passkeys are allowed;
        without, any discoverable one (login without the password)."""
        allow = [base64url_to_bytes(p.id) for p in await self.passkeys.list(sub)] if sub else []
        challenge, options = await self.host.run_blocking(
            lambda: self.rp.authentication_options(
                allow=allow, user_verification=UserVerificationRequirement(verification)
            )
        )
        return await self.challenges.keep(challenge, purpose, bound_to), options

    async def finish_authentication(
        self, purpose: str, bound_to: str, challenge_id: object, answer: object, sub: str | None
    ) -> tuple[Passkey, Assertion]:
        """The passkey that signed the challenge, with what it asserted; with `sub`, only
        one of that user's."""
        challenge = await self.challenges.take(challenge_id, purpose, bound_to)
        if challenge is None:
            raise PasskeyRefused("expired", "unknown, used or expired challenge")
        parsed = _parse(answer)
        passkey = await self.passkeys.find(credential_id(parsed))
        if passkey is None or (sub is not None and passkey.sub != sub):
            raise PasskeyRefused("unknown", "no such credential for this user")
        response = parsed.get("response")
        handle = response.get("userHandle") if isinstance(response, dict) else None
        if handle and handle != bytes_to_base64url(passkey.sub.encode()):
            raise PasskeyRefused("unknown", "the user handle is not the credential's")
        assertion = await self.host.run_blocking(
            self.rp.check_authentication,
            parsed,
            challenge.value,
            base64url_to_bytes(passkey.public_key),
        )
        self._check_counter(passkey, assertion)
        if assertion.backup_eligible != passkey.backup_eligible:
            log.warning("passkey %s of %s changed its backup eligibility", passkey.id, passkey.sub)
        await self.passkeys.used(
            passkey, assertion.sign_count, assertion.backup_state, int(time.time())
        )
        return passkey, assertion

    @staticmethod
    def _check_counter(passkey: Passkey, assertion: Assertion) -> None:
        """WebAuthn Level 3, 6.1.1: when either count is non-zero, the new one must be
        greater; a smaller or equal one may mean a cloned authenticator."""
        stored, new = passkey.sign_count, assertion.sign_count
        if (stored or new) and new <= stored:
            log.warning(
                "passkey %s of %s refused: sign count %d after %d (a cloned authenticator?)",
                passkey.id,
                passkey.sub,
                new,
                stored,
            )
            raise PasskeyRefused("counter", f"sign count {new} after {stored}")
