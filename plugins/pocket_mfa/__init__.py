"""Pocket: the second-factor plugin (enrollment wizard, authenticator-app codes,
recovery codes; Pocket push comes with device pairing)."""

from plugins.pocket_mfa.plugin import PocketFactor

__all__ = ["PocketFactor"]
