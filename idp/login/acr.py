"""Authentication context class references: what a request asks for, what a login answers.

Two levels (OIDC Core 2, "acr"): the password alone, and the password with a second
factor; the second satisfies a request for the first as well. `acr_values` lists the
values in order of preference and asks nothing the login must do (Core 3.1.2.1): the
second factor is forced only when every value listed needs it. An `acr` claim requested
as essential through the claims parameter must be met (Core 5.5.1.1). Values this
provider does not know are ignored.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from idp.login.state import AuthRequest

ACR_PASSWORD = "urn:pocket-idp:acr:password"
ACR_MFA = "urn:pocket-idp:acr:mfa"
#: as advertised in discovery's acr_values_supported
ACR_VALUES = (ACR_PASSWORD, ACR_MFA)


def _known(values: Iterable[object]) -> list[str]:
    """The values this provider supports, in the order given, each once."""
    return [v for v in dict.fromkeys(v for v in values if isinstance(v, str)) if v in ACR_VALUES]


def requested_acr(
    acr_values: str | None, claims: dict[str, dict[str, Any]]
) -> tuple[list[str], list[str]]:
    """(voluntary, essential): acr_values followed by the values of a voluntary acr claim,
    in order of preference; and the values of an acr claim requested as essential."""
    voluntary: list[object] = list((acr_values or "").split())
    essential: list[object] = []
    claim = claims.get("id_token", {}).get("acr")
    if isinstance(claim, dict):
        values = claim.get("values")
        if isinstance(values, list):
            wanted = values
        else:
            wanted = [claim["value"]] if "value" in claim else []
        if claim.get("essential") is True:
            essential = wanted
        else:
            voluntary += wanted
    return _known(voluntary), _known(essential)


def achieved_acr(factor_done: bool) -> str:
    return ACR_MFA if factor_done else ACR_PASSWORD


def _satisfies(achieved: str, value: str) -> bool:
    return value == achieved or (value == ACR_PASSWORD and achieved == ACR_MFA)


def _needs_factor(values: list[str]) -> bool:
    return bool(values) and not any(_satisfies(ACR_PASSWORD, v) for v in values)


def needs_second_factor(auth: AuthRequest) -> bool:
    """Step-up: every voluntary value, or every essential one, needs a second factor."""
    return _needs_factor(auth.acr_values) or _needs_factor(auth.acr_essential)


def answered_acr(auth: AuthRequest, factor_done: bool) -> str:
    """The acr of the ID token: the level the login reached. An essential request gets
    one of its own values (Core 5.5.1.1): the first that the level reached satisfies."""
    achieved = achieved_acr(factor_done)
    if auth.acr_essential and achieved not in auth.acr_essential:
        for value in auth.acr_essential:
            if _satisfies(achieved, value):
                return value
    return achieved
