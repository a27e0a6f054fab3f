"""What an administrative operation refuses; the admin API answers each in its JSON form
and the `idp` command prints its message."""

from __future__ import annotations

from idp.errors import Conflict, IdpError, NotFound

__all__ = ["Conflict", "InvalidField", "NotFound", "Taken"]


class InvalidField(IdpError):
    """A field of the input is wrong; `field` names it as the input does (`claims.email`,
    `redirect_uris`), or is None when the request as a whole cannot be carried out."""

    def __init__(self, field: str | None, description: str) -> None:
        super().__init__(f"{field}: {description}" if field else description)
        self.field = field
        self.description = description


class Taken(Conflict):
    """The value of `field` belongs to another user or client already."""

    def __init__(self, field: str, description: str) -> None:
        super().__init__(description)
        self.field = field
        self.description = description
