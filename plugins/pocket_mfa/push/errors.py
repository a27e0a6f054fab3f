"""Errors of Pocket push: device API refusals and service errors."""

from __future__ import annotations

from plugins.pocket_mfa.errors import PocketError


class PushError(PocketError):
    """Base class of push errors."""


class PushLimitError(PushError):
    """Too many push challenges for one user in the window; try again later."""

    def __init__(self, limit: int, window: int) -> None:
        super().__init__(f"at most {limit} push challenges per {window} s; wait and try again")
        self.limit = limit
        self.window = window


class NoDeviceError(PushError):
    """The user has no paired Pocket device to send a challenge to."""


class UnknownChallenge(PushError):
    """No challenge with that id (never created, or long gone)."""


class DeviceApiError(PushError):
    """A refusal of the device API: HTTP status, error code and description."""

    status = 400
    error = "invalid_request"

    def __init__(self, description: str, error: str | None = None) -> None:
        super().__init__(description)
        self.description = description
        if error is not None:
            self.error = error


class TooManyRequests(DeviceApiError):
    """The address sent more requests than [rate_limits] device_api allows in the window
    (RFC 6585 4); `retry_after`: seconds until the next window."""

    status = 429
    error = "too_many_requests"

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many requests from this address; try again in {retry_after} s")
        self.retry_after = retry_after


class InvalidRequest(DeviceApiError):
    error = "invalid_request"


class NotAPairingCodeError(DeviceApiError):
    error = "not_a_pairing_code"


class ExpiredPairingToken(DeviceApiError):
    error = "expired_pairing_token"


class UsedPairingToken(DeviceApiError):
    error = "used_pairing_token"


class InvalidDeviceToken(DeviceApiError):
    status = 401
    error = "invalid_device_token"


class ForeignDevice(DeviceApiError):
    status = 403
    error = "foreign_device"


class BadSignature(DeviceApiError):
    error = "bad_signature"


class ChallengeClosed(DeviceApiError):
    """Answered already (by this device or another of the user's)."""

    status = 409
    error = "challenge_closed"


class ChallengeNoLongerValid(DeviceApiError):
    """Closed without an answer: the login was stopped, finished another way or sent anew
    (withdrawn), or the challenge expired. Nobody waits for an answer any more."""

    status = 410
    error = "challenge_no_longer_valid"
