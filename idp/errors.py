"""Errors of the provider itself; protocol errors are authlib's."""


class IdpError(Exception):
    """Base class of the provider's own errors."""


class ConfigError(IdpError):
    """The configuration cannot be used; the message names the key."""


class NotFound(IdpError):
    """A user, client or record that was asked for does not exist."""


class Conflict(IdpError):
    """A user or client with that name exists already."""


class StoreError(IdpError):
    """The store could not keep what it was given; nothing of it was kept."""


class StoreUnavailable(StoreError):
    """The store cannot be reached at the moment (a networked store that is down); the
    request may be tried again in a little while."""


class AlreadyUsed(StoreError):
    """A unit of work used up a record (RecordView.use_up) that had been used already, or
    was gone: none of the unit's writes landed."""

    def __init__(self, model: str, id: str) -> None:
        super().__init__(f"the {model} record was used already")
        self.model = model
        self.id = id


class SchemaOutdated(IdpError):
    """The store's schema is not the one this version works with; the message says what
    to run."""
