"""RFC 6238 verification: the Appendix B vectors, the skew window, the otpauth URI."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest

from plugins.pocket_mfa.totp import (
    TotpParams,
    code_at_step,
    grouped,
    matching_step,
    new_secret,
    provisioning_uri,
    step_at,
)

#: RFC 6238 Appendix B: the SHA-1 seed is the ASCII string "12345678901234567890"
RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()
RFC_SHA1 = [
    (59, 0x0000001, "94287082"),
    (1111111109, 0x23523EC, "07081804"),
    (1111111111, 0x23523ED, "14050471"),
    (1234567890, 0x273EF07, "89005924"),
    (2000000000, 0x3F940AA, "69279037"),
    (20000000000, 0x27BC86AA, "65353130"),
]
EIGHT = TotpParams(period=30, digits=8, skew=0)


@pytest.mark.parametrize(("now", "step", "code"), RFC_SHA1)
def test_rfc6238_appendix_b_sha1_vectors(now: int, step: int, code: str) -> None:
    assert step_at(EIGHT, now) == step
    assert code_at_step(RFC_SECRET, step, EIGHT) == code
    assert matching_step(RFC_SECRET, code, EIGHT, now) == step


@pytest.mark.parametrize(("now", "step", "code"), RFC_SHA1)
def test_rfc6238_vectors_refuse_a_changed_digit(now: int, step: int, code: str) -> None:
    wrong = code[:-1] + str((int(code[-1]) + 1) % 10)
    assert matching_step(RFC_SECRET, wrong, EIGHT, now) is None


def test_one_step_of_skew_either_way_and_no_more() -> None:
    params = TotpParams()
    secret = new_secret()
    now = 1_700_000_015.0
    current = step_at(params, now)
    for offset in (-1, 0, 1):
        code = code_at_step(secret, current + offset, params)
        assert matching_step(secret, code, params, now) == current + offset
    for offset in (-3, -2, 2, 3):
        code = code_at_step(secret, current + offset, params)
        assert matching_step(secret, code, params, now) is None


def test_codes_match_what_authenticator_apps_compute() -> None:
    secret = new_secret()
    now = 1_700_000_000.0
    app = pyotp.TOTP(secret)  # SHA-1, 6 digits, 30 s: the defaults apps use
    assert matching_step(secret, app.at(now), TotpParams(), now) == step_at(TotpParams(), now)
    assert matching_step(secret, app.at(now)[:3] + " " + app.at(now)[3:], TotpParams(), now)


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "12345x"])
def test_malformed_codes_are_refused(code: str) -> None:
    assert matching_step(new_secret(), code, TotpParams(), 1_700_000_000.0) is None


def test_new_secrets_are_160_bits_of_base32() -> None:
    secret = new_secret()
    assert len(base64.b32decode(secret)) == 20
    assert new_secret() != secret


def test_provisioning_uri_names_issuer_and_account() -> None:
    uri = provisioning_uri("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "alice", "Pocket IdP", TotpParams())
    parts = urlsplit(uri)
    assert parts.scheme == "otpauth" and parts.netloc == "totp"
    assert parts.path == "/Pocket%20IdP:alice"
    query = parse_qs(parts.query)
    assert query["secret"] == ["JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"]
    assert query["issuer"] == ["Pocket IdP"]


def test_secret_is_grouped_for_typing() -> None:
    assert grouped("ABCDEFGHIJ") == "ABCD EFGH IJ"
