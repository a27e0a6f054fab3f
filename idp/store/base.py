"""The storage interface: what the provider and its plugins keep, and how.

Records (codes, tokens, sessions, pending logins, consents) follow node-oidc-provider's
adapter verbs: upsert, find, consume, destroy and revoke_by_grant_id. Users, clients and
signing keys have their own small tables. Every backend passes tests/store/test_contract.py.

Every method is a coroutine: a networked backend awaits its round trips, and the embedded
one simply runs in place. Writes that must land together (a code used up and the tokens
issued for it; a refresh token rotated) go in one unit of work (`Store.unit`). Plugins
see records only through a `RecordView` of their own (`Store.records`).
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from idp.store.wakeups import Wakeups

JSON = dict[str, Any]

#: how long `Store.readiness` waits for each part of the store to answer
READINESS_TIMEOUT = 2.0


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
    #: a disabled user cannot log in, and tokens issued to them are no longer honoured
    disabled: bool = False


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
    #: may a browser be remembered so that this client's users skip the second factor
    #: there ([factors] remember_days); false for administrators' applications, say
    remember_browser: bool = True
    #: may users who have not set up a second factor postpone it for this client
    #: ([factors] enroll_by, enroll_within_logins)
    postpone_enrollment: bool = True
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


@dataclass(frozen=True)
class StoredRecord:
    """A record as a backend keeps it, for moving a whole store (Store.export_all)."""

    model: str
    id: str
    payload: JSON
    expires_at: float | None
    grant_id: str | None
    consumed: bool
    sub: str | None
    created_at: float


@dataclass(frozen=True)
class StoredCounter:
    key: str
    count: int
    expires_at: float


@dataclass
class Snapshot:
    """Everything a store keeps."""

    users: list[User] = field(default_factory=list)
    clients: list[Client] = field(default_factory=list)
    keys: list[SigningKey] = field(default_factory=list)
    records: list[StoredRecord] = field(default_factory=list)
    counters: list[StoredCounter] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """How many of each: users, clients, keys, counters, and records per model."""
        found = {
            "users": len(self.users),
            "clients": len(self.clients),
            "signing keys": len(self.keys),
            "counters": len(self.counters),
        }
        for record in self.records:
            name = f"records {record.model}"
            found[name] = found.get(name, 0) + 1
        return found


class RecordView(Protocol):
    """Records with a lifetime, counters and wake-ups: the part of the store a plugin
    sees, under a namespace of its own (Store.records)."""

    @property
    def wakeups(self) -> Wakeups:
        """Wake tasks that wait for something to happen to a key, in any process."""
        ...

    async def upsert(
        self,
        model: str,
        id: str,
        payload: JSON,
        expires_in: int | None = None,
        grant_id: str | None = None,
        sub: str | None = None,
    ) -> None:
        """Keep a record (replacing one with that id, its indexes included), for
        `expires_in` seconds or for good. Two indexes are explicit: `grant_id` (what
        revoke_by_grant_id removes) and `sub`, the user the record belongs to (what
        find_by_sub lists)."""
        ...

    async def find(self, model: str, id: str) -> JSON | None:
        """The payload, with "consumed": true once consumed; None if absent or expired."""
        ...

    async def consume(self, model: str, id: str) -> JSON | None:
        """Atomically mark a record used; its payload the first time, None ever after."""
        ...

    async def use_up(self, model: str, id: str) -> None:
        """Mark a record used as one of the unit of work's writes: the unit lands only if
        the record was live and unused, and then no one else can use it up; if it was
        not, the unit ends in AlreadyUsed (at once, or when it lands) and none of its
        writes lands. Outside a unit: at once, on its own. (`consume` gives the payload
        back at once instead; `use_up` is for a caller that read it already.)"""
        ...

    async def destroy(self, model: str, id: str) -> None: ...

    async def find_by_sub(self, model: str, sub: str) -> list[tuple[str, JSON]]:
        """The user's live records of a model, (id, payload as find() has it), oldest
        first."""
        ...

    async def find_since(self, model: str, since: float) -> list[tuple[str, JSON]]:
        """The live records of a model first kept at or after `since` (seconds since the
        epoch), (id, payload as find() has it), oldest first."""
        ...

    # --- counters (throttling); they survive a restart
    async def hit(self, key: str, window: int) -> int:
        """Count one event; returns the count within the window begun by the first one."""
        ...

    async def release(self, key: str) -> None:
        """Give back one event counted by `hit` that did not happen after all (an attempt
        that was reserved and then refused before it ran); never below zero."""
        ...

    async def count(self, key: str) -> int: ...
    async def clear(self, key: str) -> None: ...

    def unit(self) -> AbstractAsyncContextManager[None]:
        """A unit of work: the writes made inside land together when it ends, or none of
        them does if it ends with an exception (or cannot be committed: StoreError).
        Reads inside see its own writes. A unit nested in another joins it. Two units
        that write the same record or counter never overlap: the second one's write
        waits until the first unit has ended, and what it reads after that write sees
        what the first one wrote (so a `hit` on an agreed counter orders units that
        must not run side by side, in any process)."""
        ...


class Store(RecordView, Protocol):
    # --- users
    async def add_user(self, user: User) -> None: ...
    async def update_user(self, user: User) -> None: ...
    async def get_user(self, sub: str) -> User | None: ...
    async def find_user(self, username: str) -> User | None: ...
    async def list_users(self) -> list[User]: ...

    async def page_users(self, after: str, limit: int, search: str = "") -> list[User]:
        """At most `limit` users whose username sorts after `after` ("" for the first
        page), by username; with `search`, only those whose username, name or email holds
        it, ASCII letters compared without case."""
        ...

    async def remove_user(self, sub: str) -> bool: ...

    # --- clients
    async def add_client(self, client: Client) -> None: ...
    async def get_client(self, client_id: str) -> Client | None: ...
    async def update_client(self, client: Client) -> bool:
        """Replace the client of that id; False if there is none."""
        ...

    async def list_clients(self) -> list[Client]: ...
    async def remove_client(self, client_id: str) -> bool: ...

    # --- signing keys
    async def add_key(self, key: SigningKey) -> None: ...
    async def update_key(self, key: SigningKey) -> None: ...
    async def list_keys(self) -> list[SigningKey]: ...

    # --- records (and RecordView's)
    async def revoke_by_grant_id(self, grant_id: str) -> int:
        """Remove every record of the grant; how many there were."""
        ...

    def records(self, namespace: str) -> RecordView:
        """The records and counters of one plugin: its model names and counter keys are
        kept apart from everyone else's under `namespace`."""
        ...

    # --- a whole store at once (`idp store copy`)
    async def export_all(self) -> Snapshot:
        """Everything the store keeps, expired records left out."""
        ...

    async def import_all(self, snapshot: Snapshot) -> None:
        """Keep everything in `snapshot` in one unit of work (into an empty store)."""
        ...

    # --- life
    async def start(self) -> None:
        """A long-running server begins: start the backend's background upkeep, if any."""
        ...

    async def close(self) -> None:
        """Stop any upkeep and let go of files and connections."""
        ...

    async def readiness(self) -> dict[str, str]:
        """What keeps the store from serving right now, by part ("store"; "cache" for a
        Redis cache beside it): a part that cannot be reached within
        `READINESS_TIMEOUT` seconds, or whose schema is not the one this version works
        with. Empty when every part can serve."""
        ...
