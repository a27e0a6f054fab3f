"""Passkeys (WebAuthn): a second factor, and a login without the password."""

from plugins.passkeys.plugin import PasskeysFactor

__all__ = ["PasskeysFactor"]
