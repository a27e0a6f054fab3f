"""acr_values in order of preference (OIDC Core 3.1.2.1), an essential acr claim (5.5.1.1),
and the acr and amr the ID token reports, with clients whose second factor is required
or optional."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from idp.login.acr import ACR_MFA as MFA
from idp.login.acr import ACR_PASSWORD as PWD
from tests.conftest import RP, Env, authorize, exchange, query_of, submit_password
from tests.login.conftest import CODE
from tests.oidc.helpers import verify_jwt

PASSWORD_ONLY = ["pwd"]
WITH_CODE = ["pwd", "otp", "mfa"]
UNKNOWN = "urn:example:gold"


@dataclass
class Outcome:
    factor_asked: bool
    claims: dict[str, Any]


def essential(*values: str) -> str:
    return json.dumps({"id_token": {"acr": {"essential": True, "values": list(values)}}})


def log_in(env: Env, client_id: str, **params: str) -> Outcome:
    """Authorize, give the password, give the code if the factor page comes; the ID token."""
    response = authorize(env, client_id=client_id, **params)
    if response.headers.get("location", "").startswith("/login/"):
        response = submit_password(env, response.headers["location"])
    factor_asked = response.status_code == 200 and "<p>verify</p>" in response.text
    if factor_asked:
        login_id = response.text.split("/factors/testcode/")[1].split("'")[0]
        response = env.client.post(f"/factors/testcode/{login_id}", data={"code": CODE})
    location = response.headers["location"]
    assert location.startswith(RP), location
    token = exchange(env, query_of(location)["code"], client_id=client_id)
    assert token.status_code == 200, token.text
    return Outcome(factor_asked, verify_jwt(env, token.json()["id_token"]))


@pytest.mark.parametrize(
    ("client_id", "params", "factor_asked", "acr"),
    [
        # the client lets its users in with a password alone
        pytest.param("relaxed", {"acr_values": f"{PWD} {MFA}"}, False, PWD, id="pwd-first"),
        pytest.param("relaxed", {"acr_values": f"{MFA} {PWD}"}, False, PWD, id="mfa-first"),
        pytest.param("relaxed", {"acr_values": MFA}, True, MFA, id="only-mfa"),
        pytest.param("relaxed", {"acr_values": UNKNOWN}, False, PWD, id="unknown"),
        pytest.param("relaxed", {"acr_values": f"{UNKNOWN} {PWD}"}, False, PWD, id="unknown-pwd"),
        pytest.param("relaxed", {"acr_values": f"{UNKNOWN} {MFA}"}, True, MFA, id="unknown-mfa"),
        pytest.param("relaxed", {"claims": essential(MFA)}, True, MFA, id="essential-mfa"),
        pytest.param(
            "relaxed", {"claims": essential(UNKNOWN, MFA)}, True, MFA, id="essential-unknown-mfa"
        ),
        pytest.param(
            "relaxed", {"claims": essential(MFA, PWD)}, False, PWD, id="essential-mfa-or-pwd"
        ),
        pytest.param("relaxed", {"claims": essential(UNKNOWN)}, False, PWD, id="essential-unknown"),
        pytest.param(
            "relaxed",
            {"acr_values": f"{PWD} {MFA}", "claims": essential(MFA)},
            True,
            MFA,
            id="pwd-first-but-essential-mfa",
        ),
        pytest.param(
            "relaxed",
            {"claims": json.dumps({"id_token": {"acr": {"essential": True, "value": MFA}}})},
            True,
            MFA,
            id="essential-value-mfa",
        ),
        pytest.param(
            "relaxed",
            {"claims": json.dumps({"id_token": {"acr": {"values": [MFA, PWD]}}})},
            False,
            PWD,
            id="voluntary-claim-mfa-first",
        ),
        # the client's users always pass a second factor: the acr says so
        pytest.param("strict", {"acr_values": f"{PWD} {MFA}"}, True, MFA, id="strict-pwd-first"),
        pytest.param("strict", {"acr_values": f"{MFA} {PWD}"}, True, MFA, id="strict-mfa-first"),
        pytest.param("strict", {"acr_values": MFA}, True, MFA, id="strict-only-mfa"),
        pytest.param("strict", {"acr_values": PWD}, True, MFA, id="strict-only-pwd"),
        pytest.param("strict", {"acr_values": UNKNOWN}, True, MFA, id="strict-unknown"),
        # an essential claim gets one of its own values: the second factor satisfies it
        pytest.param("strict", {"claims": essential(PWD)}, True, PWD, id="strict-essential-pwd"),
        pytest.param(
            "strict", {"claims": essential(MFA, PWD)}, True, MFA, id="strict-essential-mfa-or-pwd"
        ),
    ],
)
def test_acr_values_and_the_acr_reached(
    mfa_env: Env, client_id: str, params: dict[str, str], factor_asked: bool, acr: str
) -> None:
    outcome = log_in(mfa_env, client_id, **params)

    assert outcome.factor_asked is factor_asked
    assert outcome.claims["acr"] == acr
    assert outcome.claims["amr"] == (WITH_CODE if factor_asked else PASSWORD_ONLY)


def test_every_supported_value_lets_an_optional_client_in_with_the_password(
    mfa_env: Env,
) -> None:
    supported = mfa_env.client.get("/.well-known/openid-configuration").json()[
        "acr_values_supported"
    ]

    outcome = log_in(mfa_env, "relaxed", acr_values=" ".join(supported))

    assert not outcome.factor_asked
    assert outcome.claims["acr"] == PWD
    assert outcome.claims["amr"] == PASSWORD_ONLY


@pytest.mark.parametrize("acr_values", [f"{PWD} {MFA}", PWD, f"{MFA} {PWD}"])
def test_a_session_with_a_second_factor_reports_it(mfa_env: Env, acr_values: str) -> None:
    assert log_in(mfa_env, "strict").factor_asked

    outcome = log_in(mfa_env, "relaxed", acr_values=acr_values)

    assert not outcome.factor_asked
    assert outcome.claims["acr"] == MFA
    assert outcome.claims["amr"] == WITH_CODE


def test_a_password_session_steps_up_only_when_every_value_needs_it(mfa_env: Env) -> None:
    assert not log_in(mfa_env, "relaxed").factor_asked
    assert not log_in(mfa_env, "relaxed", acr_values=f"{MFA} {PWD}").factor_asked

    outcome = log_in(mfa_env, "relaxed", acr_values=MFA)

    assert outcome.factor_asked
    assert outcome.claims["acr"] == MFA
