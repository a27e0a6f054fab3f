"""Relying parties: registering one (its secret generated and shown once), listing,
changing its settings, rotating its secret, removing it. Only a secret's hash is kept."""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from idp.admin import client_fields
from idp.admin.client_fields import ADMIN_SCOPE, CHANGEABLE, SETTABLE
from idp.admin.errors import Conflict, InvalidField, NotFound, Taken
from idp.audit import AuditTrail
from idp.oidc.models import SCOPES, hash_secret
from idp.store import Client, Store

#: the methods that authenticate a client by a secret the IdP keeps the hash of
SECRET_METHODS = ("client_secret_basic", "client_secret_post")


@dataclass(frozen=True)
class Registered:
    client: Client
    #: the secret in clear, shown once; None for a client without one
    secret: str | None


def client_json(client: Client) -> dict[str, Any]:
    """A client as the API and `idp clients list --json` show it (never its secret)."""
    shown = asdict(client)
    shown.pop("secret_hash")
    for name, value in shown.items():
        if isinstance(value, tuple):
            shown[name] = list(value)
    return shown


def check_whole(client: Client) -> None:
    """The rules between settings, on the client as it would be kept."""
    if "authorization_code" in client.grant_types and not client.redirect_uris:
        raise InvalidField("redirect_uris", "a client with authorization_code needs at least one")
    if client.public and "client_credentials" in client.grant_types:
        raise InvalidField("grant_types", "a public client cannot use client_credentials")
    if client.token_endpoint_auth_method == "private_key_jwt" and not client.jwks:
        raise InvalidField("jwks", "private_key_jwt needs the client's public keys")
    if ADMIN_SCOPE in client.scopes and (
        client.public or client.grant_types != ("client_credentials",)
    ):
        raise InvalidField(
            "scopes", "admin is for confidential clients with client_credentials alone"
        )


class ClientAdmin:
    def __init__(self, store: Store, audit: AuditTrail) -> None:
        self.store = store
        #: the trail of whoever acts (AuditTrail.acting): every change is an event
        self.audit = audit

    async def get(self, client_id: str) -> Client:
        client = await self.store.get_client(client_id)
        if client is None:
            raise NotFound(f"no client with id {client_id!r}")
        return client

    async def list(self) -> list[Client]:
        return await self.store.list_clients()

    async def register(self, settings: Mapping[str, Any]) -> Registered:
        """A new client from its settings (client_fields.SETTABLE; `name` required)."""
        given = client_fields.checked(settings, SETTABLE)
        if "name" not in given:
            raise InvalidField("name", "is required")
        public = given.get("public", False)
        method = "none" if public else given.get("token_endpoint_auth_method", SECRET_METHODS[0])
        if public and given.get("token_endpoint_auth_method", "none") != "none":
            raise InvalidField("token_endpoint_auth_method", "a public client has none")
        client = Client(
            **{
                "client_id": secrets.token_urlsafe(12),
                "redirect_uris": (),
                "grant_types": ("authorization_code", "refresh_token"),
                "scopes": SCOPES,
                **given,
                "token_endpoint_auth_method": method,
                "created_at": int(time.time()),
            }
        )
        check_whole(client)
        secret = secrets.token_urlsafe(32) if method in SECRET_METHODS else None
        if secret is not None:
            client = replace(client, secret_hash=hash_secret(secret))
        try:
            await self.store.add_client(client)
        except Conflict:
            raise Taken("client_id", f"a client with id {client.client_id!r} exists") from None
        await self.audit.record("client_created", client=client.client_id, name=client.name)
        return Registered(client, secret)

    async def change(self, client_id: str, settings: Mapping[str, Any]) -> Client:
        given = client_fields.checked(settings, CHANGEABLE)
        async with self.store.unit():
            changed = replace(await self.get(client_id), **given)
            check_whole(changed)
            await self.store.update_client(changed)
        await self.audit.record("client_updated", client=client_id, changed=sorted(given))
        return changed

    async def rotate_secret(self, client_id: str) -> Registered:
        """A new secret replaces the old one at once; shown once."""
        secret = secrets.token_urlsafe(32)
        async with self.store.unit():
            client = await self.get(client_id)
            if client.token_endpoint_auth_method not in SECRET_METHODS:
                raise InvalidField(None, "the client authenticates without a secret")
            changed = replace(client, secret_hash=hash_secret(secret))
            await self.store.update_client(changed)
        await self.audit.record("client_secret_rotated", client=client_id)
        return Registered(changed, secret)

    async def remove(self, client_id: str) -> None:
        if not await self.store.remove_client(client_id):
            raise NotFound(f"no client with id {client_id!r}")
        await self.audit.record("client_deleted", client=client_id)
