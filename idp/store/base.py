"""The storage interface: what the provider and its plugins keep, and how.

Records (codes, tokens, sessions, pending logins, consents) follow node-oidc-provider's
adapter verbs: upsert, find, consume, destroy and revoke_by_grant_id. Users, clients and
signing keys have their own small tables. Every backend passes tests/store/test_contract.py.

The methods are synchronous and short (a single indexed statement each, tens of
microseconds on sqlite): handlers call them in place, since handing them to a thread and
back costs more than the call. Work that is long (argon2id) or signs runs in a worker
thread (`idp.offload.run_sync`), and storage calls made there are just as safe.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

JSON = dict[str, Any]


@dataclass(frozen=True)
class User:
    sub: str
    username: str
    password_hash: str
    name: str = ""
    given_name: str = ""
    family_name: str = ""
    email: str = ""
    email_verified: bool = False
    locale: str = ""
    phone_number: str = ""
    phone_number_verified: bool = False
    #: OpenID address claim members (formatted, street_address, locality, ...)
    address: dict[str, str] = field(default_factory=dict)
    created_at: int = 0
    updated_at: int = 0


@dataclass(frozen=True)
class Client:
    client_id: str
    name: str
    redirect_uris: tuple[str, ...]
    #: sha256 of the secret; empty for public clients
    secret_hash: str = ""
    public: bool = False
    grant_types: tuple[str, ...] = ("authorization_code", "refresh_token")
    scopes: tuple[str, ...] = ("openid", "profile", "email", "offline_access")
    #: client_secret_basic, client_secret_post, private_key_jwt or none
    token_endpoint_auth_method: str = "client_secret_basic"
    post_logout_redirect_uris: tuple[str, ...] = ()
    #: public keys for private_key_jwt (a JWK Set)
    jwks: JSON | None = None
    first_party: bool = False
    #: "opaque" or "jwt" (RFC 9068)
    access_token_format: str = "opaque"
    #: "required" or "optional": may this client's users log in with a password alone
    mfa: str = "required"
    #: one of idp.keys.ALGORITHMS: RS256 or ES256
    id_token_signed_response_alg: str = "RS256"
    created_at: int = 0


@dataclass(frozen=True)
class SigningKey:
    kid: str
    alg: str
    #: the private key as a JWK (JSON text)
    private_jwk: str
    created_at: int
    #: when this key stopped signing; its public half stays published until `retire_at`
    rotated_at: int | None = None
    retire_at: int | None = None


class Store(Protocol):
    # --- users
    def add_user(self, user: User) -> None: ...
    def update_user(self, user: User) -> None: ...
    def get_user(self, sub: str) -> User | None: ...
    def find_user(self, username: str) -> User | None: ...
    def list_users(self) -> list[User]: ...
    def remove_user(self, sub: str) -> bool: ...

    # --- clients
    def add_client(self, client: Client) -> None: ...
    def get_client(self, client_id: str) -> Client | None: ...
    def list_clients(self) -> list[Client]: ...
    def remove_client(self, client_id: str) -> bool: ...

    # --- signing keys
    def add_key(self, key: SigningKey) -> None: ...
    def update_key(self, key: SigningKey) -> None: ...
    def list_keys(self) -> list[SigningKey]: ...

    # --- records with a lifetime, keyed "model:id"
    def upsert(
        self,
        model: str,
        id: str,
        payload: JSON,
        expires_in: int | None = None,
        grant_id: str | None = None,
        sub: str | None = None,
    ) -> None:
        """Keep a record (replacing one with that id), for `expires_in` seconds or for
        good. Two indexes are explicit: `grant_id` (what revoke_by_grant_id removes) and
        `sub`, the user the record belongs to (what find_by_sub lists)."""
        ...

    def find(self, model: str, id: str) -> JSON | None:
        """The payload, with "consumed": true once consumed; None if absent or expired."""
        ...

    def consume(self, model: str, id: str) -> JSON | None:
        """Atomically mark a record used; its payload the first time, None ever after."""
        ...

    def destroy(self, model: str, id: str) -> None: ...

    def atomic(self) -> AbstractContextManager[None]:
        """The writes made inside land together when it ends, or none of them does if it
        ends with an exception. Nested use joins the outer one. Never hold it across an
        `await`: it belongs to the calling thread."""
        ...

    def grouped(self) -> AbstractContextManager[None]:
        """atomic(), whose commit may be shared with other grouped() blocks run on the
        same event loop, and made after the block. Follow the block with
        `await landed()` before telling anyone that its writes were made."""
        ...

    async def landed(self) -> None:
        """Return once the grouped() writes made so far on this thread are committed;
        raise idp.errors.StoreError if they could not be (none of them then was)."""
        ...

    def revoke_by_grant_id(self, grant_id: str) -> int: ...
    def find_by_sub(self, model: str, sub: str) -> list[tuple[str, JSON]]:
        """The user's live records of a model, (id, payload as find() has it), oldest
        first."""
        ...

    def find_since(self, model: str, since: float) -> list[tuple[str, JSON]]:
        """The live records of a model first kept at or after `since` (seconds since the
        epoch), (id, payload as find() has it), oldest first."""
        ...

    # --- counters (throttling); they survive a restart
    def hit(self, key: str, window: int) -> int:
        """Count one event; returns the count within the window begun by the first one."""
        ...

    def release(self, key: str) -> None:
        """Give back one event counted by `hit` that did not happen after all (an attempt
        that was reserved and then refused before it ran); never below zero."""
        ...

    def count(self, key: str) -> int: ...
    def clear(self, key: str) -> None: ...

    # --- life
    def start(self) -> None:
        """A long-running server begins: start the backend's background upkeep, if any."""
        ...

    def close(self) -> None:
        """Stop any upkeep and let go of files and connections."""
        ...
