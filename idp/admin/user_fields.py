"""The fields of a user as an administrator gives them: the username, the OpenID claims
the IdP keeps (OIDC Core 5.1), a password. Each wrong one is an InvalidField naming it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from idp.admin.errors import InvalidField
from idp.passwords import MIN_LENGTH

#: the claims kept as text, and the longest text accepted
TEXT_CLAIMS = ("name", "given_name", "family_name", "email", "locale", "phone_number")
FLAG_CLAIMS = ("email_verified", "phone_number_verified")
#: OIDC Core 5.1.1: the members of the address claim
ADDRESS_MEMBERS = ("formatted", "street_address", "locality", "region", "postal_code", "country")
CLAIMS = (*TEXT_CLAIMS, *FLAG_CLAIMS, "address")
MAX_TEXT = 256
MAX_USERNAME = 128
#: the control characters (Unicode category Cc), which no text field may hold
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
#: argon2 takes any length; this bounds the work a request can ask for
MAX_PASSWORD = 1024


def text(field: str, value: object, *, max_length: int = MAX_TEXT, empty: bool = True) -> str:
    """A string without control characters, at most `max_length` of them."""
    if not isinstance(value, str):
        raise InvalidField(field, "must be a string")
    if not empty and not value.strip():
        raise InvalidField(field, "must not be empty")
    if len(value) > max_length:
        raise InvalidField(field, f"must be at most {max_length} characters long")
    if CONTROL.search(value):
        raise InvalidField(field, "must not hold control characters")
    return value


def flag(field: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise InvalidField(field, "must be true or false")
    return value


def username(value: object) -> str:
    name = text("username", value, max_length=MAX_USERNAME, empty=False)
    if name != name.strip():
        raise InvalidField("username", "must not begin or end with a space")
    return name


def password(value: object, field: str = "password") -> str:
    if not isinstance(value, str):
        raise InvalidField(field, "must be a string")
    if len(value) < MIN_LENGTH:
        raise InvalidField(field, f"must be at least {MIN_LENGTH} characters long")
    if len(value) > MAX_PASSWORD:
        raise InvalidField(field, f"must be at most {MAX_PASSWORD} characters long")
    return value


def claims(value: object, field: str = "claims") -> dict[str, Any]:
    """Checked claims, as User fields; only those given."""
    if not isinstance(value, Mapping):
        raise InvalidField(field, "must be an object")
    checked: dict[str, Any] = {}
    for name, given in value.items():
        where = f"{field}.{name}"
        if name in TEXT_CLAIMS:
            checked[name] = text(where, given)
        elif name in FLAG_CLAIMS:
            checked[name] = flag(where, given)
        elif name == "address":
            checked[name] = address(where, given)
        else:
            raise InvalidField(where, f"is not a claim the IdP keeps ({', '.join(CLAIMS)})")
    return checked


def address(field: str, value: object) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise InvalidField(field, "must be an object")
    for name in value:
        if name not in ADDRESS_MEMBERS:
            raise InvalidField(f"{field}.{name}", f"is not one of {', '.join(ADDRESS_MEMBERS)}")
    return {name: text(f"{field}.{name}", given) for name, given in value.items()}
