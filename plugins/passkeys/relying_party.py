"""The WebAuthn relying party (py_webauthn): the options a browser gets and the checks
of what it answers. The RP ID and the origin come from the issuer URL. Every function
here is blocking work (CBOR, signatures): the pages run it with `host.run_blocking`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from plugins.passkeys.errors import PasskeyRefused

#: what a malformed answer may raise while it is parsed
_MALFORMED = (WebAuthnException, ValueError, KeyError, TypeError, AttributeError)


@dataclass(frozen=True)
class NewPasskey:
    """A credential just created, checked."""

    id: str
    public_key: str
    sign_count: int
    aaguid: str
    user_verified: bool
    backup_eligible: bool
    backup_state: bool
    transports: list[str]


@dataclass(frozen=True)
class Assertion:
    """A signature by a known credential, checked (all but the sign counter)."""

    sign_count: int
    user_verified: bool
    backup_eligible: bool
    backup_state: bool


def credential_id(answer: Any) -> str:
    """The credential id a browser's answer names (base64url), before it is checked."""
    if not isinstance(answer, dict) or not isinstance(answer.get("id"), str) or not answer["id"]:
        raise PasskeyRefused("malformed", "no credential id")
    found: str = answer["id"]
    return found


@dataclass(frozen=True)
class RelyingParty:
    id: str
    origin: str
    name: str
    timeout_ms: int

    @classmethod
    def for_issuer(cls, issuer: str, name: str, timeout_s: int) -> RelyingParty:
        """RP ID: the issuer's host name; origin: its scheme, host and port."""
        parts = urlsplit(issuer)
        if not parts.hostname:
            raise ValueError(f"the issuer {issuer!r} has no host name")
        return cls(parts.hostname, f"{parts.scheme}://{parts.netloc}", name, timeout_s * 1000)

    def registration_options(
        self,
        *,
        user_handle: bytes,
        user_name: str,
        display_name: str,
        exclude: Sequence[bytes],
    ) -> tuple[bytes, str]:
        """(challenge, options as JSON) for navigator.credentials.create(): a
        discoverable credential (it can log in without the password), user verification
        preferred, no attestation asked."""
        options = generate_registration_options(
            rp_id=self.id,
            rp_name=self.name,
            user_id=user_handle,
            user_name=user_name,
            user_display_name=display_name,
            timeout=self.timeout_ms,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.REQUIRED,
                user_verification=UserVerificationRequirement.PREFERRED,
            ),
            exclude_credentials=[PublicKeyCredentialDescriptor(id=c) for c in exclude],
        )
        return options.challenge, options_to_json(options)

    def authentication_options(
        self, *, allow: Sequence[bytes], user_verification: UserVerificationRequirement
    ) -> tuple[bytes, str]:
        """(challenge, options as JSON) for navigator.credentials.get(); with no `allow`,
        the browser offers the discoverable credentials it has for this RP."""
        options = generate_authentication_options(
            rp_id=self.id,
            timeout=self.timeout_ms,
            allow_credentials=[PublicKeyCredentialDescriptor(id=c) for c in allow],
            user_verification=user_verification,
        )
        return options.challenge, options_to_json(options)

    def check_registration(self, answer: dict[str, Any], challenge: bytes) -> NewPasskey:
        try:
            verified = verify_registration_response(
                credential=json.dumps(answer),
                expected_challenge=challenge,
                expected_rp_id=self.id,
                expected_origin=self.origin,
            )
        except _MALFORMED as e:
            raise PasskeyRefused("failed", str(e)) from e
        transports = answer.get("response", {}).get("transports")
        return NewPasskey(
            id=bytes_to_base64url(verified.credential_id),
            public_key=bytes_to_base64url(verified.credential_public_key),
            sign_count=verified.sign_count,
            aaguid=verified.aaguid,
            user_verified=verified.user_verified,
            backup_eligible=verified.credential_device_type == "multi_device",
            backup_state=verified.credential_backed_up,
            transports=[t for t in transports if isinstance(t, str)]
            if isinstance(transports, list)
            else [],
        )

    def check_authentication(
        self,
        answer: dict[str, Any],
        challenge: bytes,
        public_key: bytes,
    ) -> Assertion:
        """The signature, challenge, origin, RP ID and user presence. User verification
        and the sign counter are left to the caller, each for a message of its own: the
        counter is given as 0 here, which skips the library's comparison."""
        try:
            verified = verify_authentication_response(
                credential=json.dumps(answer),
                expected_challenge=challenge,
                expected_rp_id=self.id,
                expected_origin=self.origin,
                credential_public_key=public_key,
                credential_current_sign_count=0,
            )
        except _MALFORMED as e:
            raise PasskeyRefused("failed", str(e)) from e
        return Assertion(
            sign_count=verified.new_sign_count,
            user_verified=verified.user_verified,
            backup_eligible=verified.credential_device_type == "multi_device",
            backup_state=verified.credential_backed_up,
        )
