"""Pocket IdP: an OpenID Connect provider whose second factor is a plugin."""

__version__ = "0.1.0"
