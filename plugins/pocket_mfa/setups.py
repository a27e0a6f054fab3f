"""Authenticator setups waiting for their first code: nothing is enrolled until then.

A setup is a short-lived record holding a new secret (sealed) for one user. Reloading
the page keeps the same secret, so an app that scanned it already keeps working.
"""

from __future__ import annotations

from idp.store import Store
from plugins.pocket_mfa.secrets_at_rest import SecretBox
from plugins.pocket_mfa.totp import new_secret

MODEL = "pocket-setup"


class Setups:
    def __init__(self, store: Store, box: SecretBox, ttl: int) -> None:
        self.store = store
        self.box = box
        self.ttl = ttl

    def open(self, setup_id: str, sub: str) -> str:
        """The secret of this setup, made on first use."""
        secret = self.secret(setup_id, sub)
        if secret is None:
            secret = new_secret()
            payload = {"sub": sub, "secret": self.box.seal(secret, sub)}
            self.store.upsert(MODEL, setup_id, payload, expires_in=self.ttl)
        return secret

    def secret(self, setup_id: str, sub: str) -> str | None:
        record = self.store.find(MODEL, setup_id)
        if record is None or record.get("consumed") or record.get("sub") != sub:
            return None
        return self.box.open(record["secret"], sub)

    def close(self, setup_id: str) -> bool:
        """Atomically end the setup; False if another request ended it first."""
        done = self.store.consume(MODEL, setup_id) is not None
        self.store.destroy(MODEL, setup_id)
        return done

    def drop(self, setup_id: str) -> None:
        self.store.destroy(MODEL, setup_id)
