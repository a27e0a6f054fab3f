"""Errors of the Pocket plugin."""

from __future__ import annotations

from idp.factors import ConfigError


class PocketError(Exception):
    """Base class of the plugin's own errors."""


class PocketConfigError(ConfigError, PocketError):
    """The [plugins.pocket] table cannot be used; the message names the key."""


class SecretUnreadable(PocketError):
    """A stored secret cannot be decrypted: another key, or it belongs to another user."""
