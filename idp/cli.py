"""The `idp` command: serve, users, clients, keys."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import secrets
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from idp.errors import ConfigError, Conflict, IdpError
from idp.factors import EnrolledMethod, FactorPlugin
from idp.keys import ALGORITHMS, KeyRing
from idp.oidc.models import SCOPES, hash_secret
from idp.passwords import Passwords
from idp.settings import Settings, load_settings
from idp.store import Client, Store, User, open_store

DEFAULT_CONFIG = "config/idp.toml"
GRANTS = ("authorization_code", "refresh_token", "client_credentials")
AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt")


class CliError(IdpError):
    """A command that cannot be carried out; the message says why."""


def _config_path(given: str | None) -> str | None:
    if given:
        return given
    env = os.environ.get("IDP_CONFIG")
    if env:
        return env
    return DEFAULT_CONFIG if Path(DEFAULT_CONFIG).exists() else None


def _read_password(from_stdin: bool, confirm: bool = True) -> str:
    if from_stdin or not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password: ")
        if confirm and getpass.getpass("Repeat password: ") != password:
            raise CliError("the passwords do not match")
    if len(password) < 8:
        raise CliError("the password must be at least 8 characters long")
    return password


def _user(store: Store, username: str) -> User:
    user = store.find_user(username)
    if user is None:
        raise CliError(f"no user named {username!r}")
    return user


# --- serve
def cmd_serve(args: argparse.Namespace, settings: Settings) -> None:
    import uvicorn

    from idp.app import create_app
    from idp.demo import ensure_demo

    host = args.host or settings.server.host
    port = args.port or settings.server.port
    app = create_app(settings, with_demo=args.demo)
    if args.demo:
        provider = app.state.provider
        secrets_file = Path(settings.store.path).with_name("demo-account.json")
        account = ensure_demo(provider, secrets_file)
        issuer = settings.issuer
        print(
            "\n  Pocket IdP is starting at " + issuer + "\n\n"
            f"  Try a login:   open {issuer}/demo in a browser\n"
            f"  Demo user:     {account.username}\n"
            f"  Password:      {account.password}\n"
            f"  Demo client:   {account.client_id} (public, PKCE)\n"
            f"  Discovery:     {issuer}/.well-known/openid-configuration\n",
            flush=True,
        )
    # signing threads hand the GIL back to the event loop sooner (default 5 ms)
    sys.setswitchinterval(0.0005)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=args.log_level,
        access_log=settings.server.access_log if args.access_log is None else args.access_log,
        proxy_headers=True,
        forwarded_allow_ips=settings.server.forwarded_allow_ips,
        server_header=False,
    )


# --- users
def cmd_users(args: argparse.Namespace, settings: Settings) -> None:
    store = open_store(settings.store)
    passwords = Passwords(settings.passwords)
    if args.action == "add":
        password = _read_password(args.password_stdin)
        now = int(time.time())
        user = User(
            sub=str(uuid.uuid4()),
            username=args.username,
            password_hash=passwords.hash(password),
            name=args.name or "",
            given_name=args.given_name or "",
            family_name=args.family_name or "",
            email=args.email or "",
            email_verified=args.email_verified,
            locale=args.locale or "",
            created_at=now,
            updated_at=now,
        )
        store.add_user(user)
        print(f"added user {user.username} (sub {user.sub})")
    elif args.action == "list":
        users = store.list_users()
        if args.json:
            print(json.dumps([_user_json(u) for u in users], indent=2))
            return
        for u in users:
            print(f"{u.username:<20} {u.sub}  {u.name or '-':<24} {u.email or '-'}")
        if not users:
            print("no users")
    elif args.action == "show":
        user = _user(store, args.username)
        shown = _user_json(user)
        shown["second_factors"] = [
            {
                "plugin": name,
                "kind": m.kind,
                "label": m.label,
                "enrolled_at": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(m.created_at)),
            }
            for name, plugin in _plugins(settings, store).items()
            for m in plugin.methods(user)
        ]
        print(json.dumps(shown, indent=2, ensure_ascii=False))
    elif args.action == "devices":
        user = _user(store, args.username)
        devices = [
            (name, m)
            for name, plugin in _plugins(settings, store).items()
            for m in plugin.methods(user)
            if m.kind == PUSH_DEVICE_KIND
        ]
        if args.json:
            print(json.dumps([_device_json(name, m) for name, m in devices], indent=2))
            return
        for name, m in devices:
            shown = _device_json(name, m)
            print(f"{m.label:<24} paired {shown['paired_at']}  last used {shown['last_used']}")
        if not devices:
            print(f"{user.username} has no paired push devices")
    elif args.action == "reset-mfa":
        user = _user(store, args.username)
        removed = sum(plugin.reset(user) for plugin in _plugins(settings, store).values())
        print(
            f"removed {removed} second-factor item(s) of {user.username}; "
            "they enroll again at their next login"
        )
    elif args.action == "remove":
        user = _user(store, args.username)
        store.remove_user(user.sub)
        print(f"removed user {user.username}")
    elif args.action == "set-password":
        user = _user(store, args.username)
        password = _read_password(args.password_stdin)
        store.update_user(
            replace(user, password_hash=passwords.hash(password), updated_at=int(time.time()))
        )
        print(f"password of {user.username} changed")


def _plugins(settings: Settings, store: Store) -> dict[str, FactorPlugin]:
    """The enabled second-factor plugins, set up as the server sets them up."""
    from idp.provider import Provider

    return dict(Provider(settings, store=store).plugins)


#: the kind of enrolled method that is a paired push device (a phone with the Pocket app)
PUSH_DEVICE_KIND = "pocket"


def _device_json(plugin: str, m: EnrolledMethod) -> dict[str, object]:
    def when(ts: object) -> str:
        if not isinstance(ts, int) or ts <= 0:
            return "-"
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))

    return {
        "plugin": plugin,
        "name": m.label,
        "paired_at": when(m.created_at),
        "last_used": when(getattr(m, "last_used", None)),
    }


def _user_json(u: User) -> dict[str, object]:
    return {
        "sub": u.sub,
        "username": u.username,
        "name": u.name,
        "email": u.email,
        "email_verified": u.email_verified,
        "locale": u.locale,
        "created_at": u.created_at,
    }


# --- clients
def cmd_clients(args: argparse.Namespace, settings: Settings) -> None:
    store = open_store(settings.store)
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
        store.add_client(client)
        shown_secret = secret if client.secret_hash else None
        if args.json:
            print(json.dumps({"client_id": client.client_id, "client_secret": shown_secret}))
            return
        print(f"added client {client.name}\n  client_id:     {client.client_id}")
        if shown_secret:
            print(f"  client_secret: {shown_secret}\n  (the secret is shown only now; keep it)")
    elif args.action == "list":
        clients = store.list_clients()
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
    elif args.action == "remove":
        if not store.remove_client(args.client_id):
            raise CliError(f"no client with id {args.client_id!r}")
        print(f"removed client {args.client_id}")


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


# --- keys
def cmd_keys(args: argparse.Namespace, settings: Settings) -> None:
    store = open_store(settings.store)
    ring = KeyRing(store, settings)
    if args.action == "rotate":
        ring.ensure()
        for key in ring.rotate(tuple(args.alg or ALGORITHMS)):
            print(f"new active {key.alg} key {key.kid}")
        print("old keys stay published until the tokens they signed have expired")
    else:
        ring.ensure()
        now = time.time()
        for key in store.list_keys():
            if key.retire_at and key.retire_at < now:
                status = "retired"
            elif key.rotated_at:
                status = "published until " + time.strftime(
                    "%Y-%m-%d %H:%M", time.localtime(key.retire_at or now)
                )
            else:
                status = "active"
            print(f"{key.kid}  {key.alg}  {status}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="idp", description="Pocket IdP")
    parser.add_argument("--config", help=f"TOML config file (default {DEFAULT_CONFIG})")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the provider")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--demo", action="store_true", help="create and print a demo user/client")
    serve.add_argument("--log-level", default="info")
    serve.add_argument(
        "--access-log",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="log every request (default: server.access_log)",
    )

    users = sub.add_parser("users", help="manage users").add_subparsers(
        dest="action", required=True
    )
    add = users.add_parser("add", help="add a user (password from a prompt or stdin)")
    add.add_argument("username")
    add.add_argument("--name")
    add.add_argument("--given-name")
    add.add_argument("--family-name")
    add.add_argument("--email")
    add.add_argument("--email-verified", action="store_true")
    add.add_argument("--locale")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    ls = users.add_parser("list")
    ls.add_argument("--json", action="store_true")
    users.add_parser("show", help="a user and the second factors they enrolled").add_argument(
        "username"
    )
    devices = users.add_parser("devices", help="the push devices (phones) a user has paired")
    devices.add_argument("username")
    devices.add_argument("--json", action="store_true")
    users.add_parser(
        "reset-mfa", help="remove every second factor so the user enrolls again"
    ).add_argument("username")
    users.add_parser("remove").add_argument("username")
    setpw = users.add_parser("set-password")
    setpw.add_argument("username")
    setpw.add_argument("--password-stdin", action="store_true")

    clients = sub.add_parser("clients", help="manage relying parties").add_subparsers(
        dest="action", required=True
    )
    cadd = clients.add_parser("add", help="register a client; its secret is shown once")
    cadd.add_argument("name")
    cadd.add_argument("--client-id")
    cadd.add_argument("--redirect-uri", action="append")
    cadd.add_argument("--post-logout-redirect-uri", action="append")
    cadd.add_argument("--public", action="store_true", help="no secret; PKCE required")
    cadd.add_argument("--grant", action="append", choices=GRANTS)
    cadd.add_argument("--scope", help=f"space-separated, from: {' '.join(SCOPES)}")
    cadd.add_argument("--auth-method", choices=AUTH_METHODS, default="client_secret_basic")
    cadd.add_argument("--jwks", help="JWK Set file with the client's public keys")
    cadd.add_argument("--first-party", action="store_true", help="skip the consent page")
    cadd.add_argument("--access-token-format", choices=("opaque", "jwt"), default="opaque")
    cadd.add_argument(
        "--mfa",
        choices=("required", "optional"),
        default="required",
        help="may users of this client log in with a password alone",
    )
    cadd.add_argument("--id-token-alg", choices=ALGORITHMS, default="RS256")
    cadd.add_argument("--json", action="store_true")
    cls = clients.add_parser("list")
    cls.add_argument("--json", action="store_true")
    clients.add_parser("remove").add_argument("client_id")

    keys = sub.add_parser("keys", help="signing keys").add_subparsers(dest="action", required=True)
    rotate = keys.add_parser("rotate", help="add new active keys; old ones stay published")
    rotate.add_argument("--alg", action="append", choices=ALGORITHMS)
    keys.add_parser("list")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(_config_path(args.config))
        handler = {
            "serve": cmd_serve,
            "users": cmd_users,
            "clients": cmd_clients,
            "keys": cmd_keys,
        }[args.command]
        handler(args, settings)
    except ConfigError as exc:
        print(f"idp: configuration error: {exc}", file=sys.stderr)
        return 2
    except (CliError, Conflict) as exc:
        print(f"idp: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
