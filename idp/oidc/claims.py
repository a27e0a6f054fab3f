"""Which user claims each scope releases (OpenID Connect Core 5.4), and the claims parameter."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from authlib.oauth2.rfc6749 import InvalidRequestError

from idp.json_input import JsonInputError, parse_json
from idp.oidc.error_text import shown
from idp.store import User

SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    "profile": (
        "name",
        "given_name",
        "family_name",
        "preferred_username",
        "locale",
        "updated_at",
    ),
    "email": ("email", "email_verified"),
    "address": ("address",),
    "phone": ("phone_number", "phone_number_verified"),
}

SUPPORTED_CLAIMS = ("sub", *(c for claims in SCOPE_CLAIMS.values() for c in claims))


def _value(user: User, claim: str) -> Any:
    match claim:
        case "preferred_username":
            return user.username
        case "updated_at":
            return user.updated_at or user.created_at or None
        case "address":
            return dict(user.address) or None
        case "email_verified":
            return user.email_verified if user.email else None
        case "phone_number_verified":
            return user.phone_number_verified if user.phone_number else None
        case _:
            return getattr(user, claim, None) or None


def user_claims(user: User, scopes: Iterable[str], requested: Iterable[str] = ()) -> dict[str, Any]:
    """sub, the claims of each scope, and any individually requested supported claim."""
    names: list[str] = []
    for scope in scopes:
        names.extend(SCOPE_CLAIMS.get(scope, ()))
    names.extend(c for c in requested if c in SUPPORTED_CLAIMS)
    claims: dict[str, Any] = {"sub": user.sub}
    for name in names:
        value = _value(user, name)
        if value is not None:
            claims[name] = value
    return claims


def parse_claims_parameter(raw: str | None) -> dict[str, dict[str, Any]]:
    """The claims request parameter (Core 5.5): {"userinfo": {...}, "id_token": {...}}."""
    if not raw:
        return {}
    try:
        value = parse_json(raw)
    except JsonInputError as e:
        raise InvalidRequestError(f"The 'claims' parameter is {shown(str(e), 80)}.") from None
    if not isinstance(value, dict):
        raise InvalidRequestError("The 'claims' parameter must be a JSON object.")
    result: dict[str, dict[str, Any]] = {}
    for member in ("userinfo", "id_token"):
        part = value.get(member)
        if part is None:
            continue
        if not isinstance(part, dict):
            raise InvalidRequestError(f"claims.{member} must be a JSON object.")
        for name, request in part.items():
            _check_claim_request(f"claims.{member}.{shown(name)}", request)
        result[member] = dict(part)
    return result


def _check_claim_request(where: str, request: Any) -> None:
    """An individual claim request (Core 5.5.1): null, or an object whose "essential" is a
    boolean, whose "values" is an array and whose "value" is a single value (not an array
    or object)."""
    if request is None:
        return
    if not isinstance(request, dict):
        raise InvalidRequestError(f"{where} must be null or a JSON object.")
    if not isinstance(request.get("essential", False), bool):
        raise InvalidRequestError(f"{where}.essential must be true or false.")
    if not isinstance(request.get("values", []), list):
        raise InvalidRequestError(f"{where}.values must be a JSON array.")
    if isinstance(request.get("value"), list | dict):
        raise InvalidRequestError(f"{where}.value must be a single value; use values for more.")
