"""`idp clients ...`: registering relying parties, through the same service as the admin
API (idp.admin.clients)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from idp.admin.clients import ClientAdmin, client_json
from idp.cli.common import CliError, command_audit, existing_store
from idp.settings import Settings
from idp.store import describe_store


async def cmd_clients(args: argparse.Namespace, settings: Settings) -> None:
    async with (
        existing_store(args, settings, read_only=args.action == "list") as store,
        command_audit(settings, store) as audit,
    ):
        clients = ClientAdmin(store, audit)
        if args.action == "list":
            await _list(args, clients)
        else:
            await _change(args, clients, describe_store(settings.store))


async def _list(args: argparse.Namespace, admin: ClientAdmin) -> None:
    clients = await admin.list()
    if args.json:
        print(json.dumps([client_json(c) for c in clients], indent=2))
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


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    """The options of `clients add` as the settings the service takes."""
    settings: dict[str, Any] = {
        "name": args.name,
        "redirect_uris": args.redirect_uri or [],
        "post_logout_redirect_uris": args.post_logout_redirect_uri or [],
        "public": args.public,
        "first_party": args.first_party,
        "access_token_format": args.access_token_format,
        "mfa": args.mfa,
        "remember_browser": args.remember_browser,
        "postpone_enrollment": args.postpone_enrollment,
        "id_token_signed_response_alg": args.id_token_alg,
    }
    if args.client_id:
        settings["client_id"] = args.client_id
    if args.grant:
        settings["grant_types"] = list(dict.fromkeys(args.grant))
    if args.scope:
        settings["scopes"] = list(dict.fromkeys(args.scope.split()))
    if not args.public:
        settings["token_endpoint_auth_method"] = args.auth_method
    if args.jwks:
        try:
            settings["jwks"] = json.loads(Path(args.jwks).read_text())
        except (OSError, ValueError) as exc:
            raise CliError(f"cannot read a JWK Set from {args.jwks}: {exc}") from None
    return settings


async def _change(args: argparse.Namespace, admin: ClientAdmin, where: str) -> None:
    """Adding or removing a client; each says which store it changed."""
    if args.action == "add":
        registered = await admin.register(_settings(args))
        client, secret = registered.client, registered.secret
        if args.json:
            print(
                json.dumps({"client_id": client.client_id, "client_secret": secret, "store": where})
            )
            return
        print(f"added client {client.name} to the {where}\n  client_id:     {client.client_id}")
        if secret:
            print(f"  client_secret: {secret}\n  (the secret is shown only now; keep it)")
    elif args.action == "remove":
        await admin.remove(args.client_id)
        print(f"removed client {args.client_id} from the {where}")
