"""`idp clients ...`: registering relying parties."""

from __future__ import annotations

import argparse
import json
import secrets
import time
from pathlib import Path

from idp.cli.common import CliError, existing_store
from idp.oidc.models import SCOPES, hash_secret
from idp.settings import Settings
from idp.store import Client, Store, describe_store

GRANTS = ("authorization_code", "refresh_token", "client_credentials")
AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt")


async def cmd_clients(args: argparse.Namespace, settings: Settings) -> None:
    async with existing_store(args, settings, read_only=args.action == "list") as store:
        if args.action == "list":
            await _list(args, store)
        else:
            await _change(args, store, describe_store(settings.store))


async def _list(args: argparse.Namespace, store: Store) -> None:
    clients = await store.list_clients()
    if args.json:
        print(json.dumps([_client_json(c) for c in clients], indent=2))
        return
    for c in clients:
        kind = "public" if c.public else c.token_endpoint_auth_method
        print(
            f"{c.client_id:<18} {c.name:<24} {kind:<20} mfa={c.mfa:<8} "
            f"{'first-party ' if c.first_party else ''}grants={','.join(c.grant_types)}"
        )
        for uri in c.redirect_uris:
            print(f"{'':<18} redirect {uri}")
    if not clients:
        print("no clients")


async def _change(args: argparse.Namespace, store: Store, where: str) -> None:
    """Adding or removing a client; each says which store it changed."""
    if args.action == "add":
        grants = tuple(args.grant or ["authorization_code", "refresh_token"])
        scopes = tuple(args.scope.split()) if args.scope else SCOPES
        unknown = [s for s in scopes if s not in SCOPES]
        if unknown:
            raise CliError(f"unknown scope(s): {', '.join(unknown)} (known: {' '.join(SCOPES)})")
        if "authorization_code" in grants and not args.redirect_uri:
            raise CliError("a client with authorization_code needs at least one --redirect-uri")
        if args.public and "client_credentials" in grants:
            raise CliError("a public client cannot use client_credentials")
        jwks = None
        if args.auth_method == "private_key_jwt":
            if not args.jwks:
                raise CliError("private_key_jwt needs --jwks FILE with the client's public keys")
            jwks = json.loads(Path(args.jwks).read_text())
        secret = "" if args.public else secrets.token_urlsafe(32)
        client = Client(
            client_id=args.client_id or secrets.token_urlsafe(12),
            name=args.name,
            redirect_uris=tuple(args.redirect_uri or ()),
            post_logout_redirect_uris=tuple(args.post_logout_redirect_uri or ()),
            secret_hash=hash_secret(secret) if secret and not jwks else "",
            public=args.public,
            grant_types=grants,
            scopes=scopes,
            token_endpoint_auth_method="none" if args.public else args.auth_method,
            jwks=jwks,
            first_party=args.first_party,
            access_token_format=args.access_token_format,
            mfa=args.mfa,
            id_token_signed_response_alg=args.id_token_alg,
            created_at=int(time.time()),
        )
        await store.add_client(client)
        shown_secret = secret if client.secret_hash else None
        if args.json:
            shown = {"client_id": client.client_id, "client_secret": shown_secret, "store": where}
            print(json.dumps(shown))
            return
        print(f"added client {client.name} to the {where}\n  client_id:     {client.client_id}")
        if shown_secret:
            print(f"  client_secret: {shown_secret}\n  (the secret is shown only now; keep it)")
    elif args.action == "remove":
        if not await store.remove_client(args.client_id):
            raise CliError(f"no client with id {args.client_id!r} in the {where}")
        print(f"removed client {args.client_id} from the {where}")


def _client_json(c: Client) -> dict[str, object]:
    return {
        "client_id": c.client_id,
        "name": c.name,
        "public": c.public,
        "token_endpoint_auth_method": c.token_endpoint_auth_method,
        "redirect_uris": list(c.redirect_uris),
        "post_logout_redirect_uris": list(c.post_logout_redirect_uris),
        "grant_types": list(c.grant_types),
        "scopes": list(c.scopes),
        "first_party": c.first_party,
        "access_token_format": c.access_token_format,
        "mfa": c.mfa,
    }
