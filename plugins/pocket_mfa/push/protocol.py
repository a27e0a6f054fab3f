"""Device API v1: the wire format shared by the IdP and every Pocket device.

Nothing here touches the provider; the reference client imports it as it is.
"""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urlsplit

#: where the plugin mounts the device API, below the issuer
API_PATH = "/factors/pocket/api/v1"
#: a pairing code: "pp_" and a random part; anything else is not one
PAIRING_PREFIX = "pp_"
PAIRING_SCHEME = "pocket"
#: the longest lifetime of a device token (exp - iat), in seconds
MAX_TOKEN_LIFETIME = 120
#: how long a long-poll for challenges may wait, in seconds
MAX_WAIT = 30
#: the algorithms a device key may use, by key type and curve
ALGS = {("EC", "P-256"): "ES256", ("OKP", "Ed25519"): "EdDSA"}
DECISIONS = ("approve", "deny")


class NotAPairingCode(ValueError):
    """The text is not a Pocket pairing code (for example an app activation code)."""

    def __init__(self) -> None:
        super().__init__(
            "This is not a Pocket pairing code. Scan the QR code that the login page shows "
            "while linking your account; an activation code is not needed for logging in."
        )


def api_base(issuer: str) -> str:
    return issuer.rstrip("/") + API_PATH


def is_pairing_token(token: str) -> bool:
    return token.startswith(PAIRING_PREFIX) and len(token) > len(PAIRING_PREFIX)


def pairing_uri(issuer: str, token: str) -> str:
    return f"{PAIRING_SCHEME}://pair?v=1&issuer={quote(issuer, safe='')}&token={token}"


def parse_pairing_uri(text: str) -> tuple[str, str]:
    """(issuer, token) of a pairing URI; NotAPairingCode for anything else."""
    parts = urlsplit(text.strip())
    if parts.scheme != PAIRING_SCHEME or parts.netloc != "pair":
        raise NotAPairingCode()
    query = parse_qs(parts.query)
    issuer = query.get("issuer", [""])[0]
    token = query.get("token", [""])[0]
    if query.get("v", [""])[0] != "1" or not issuer or not is_pairing_token(token):
        raise NotAPairingCode()
    return issuer, token


def answer_message(challenge_id: str, decision: str, number: int | None, fraud: bool) -> bytes:
    """The bytes a device signs to answer a challenge."""
    shown = "" if number is None else str(number)
    return f"pocket-answer.v1|{challenge_id}|{decision}|{shown}|{int(fraud)}".encode()
