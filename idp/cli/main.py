"""The `idp` command line: the parser and the dispatch to each command."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from idp.admin.client_fields import AUTH_METHODS, GRANTS
from idp.admin.errors import InvalidField
from idp.cli.clients import cmd_clients
from idp.cli.common import DEFAULT_CONFIG, CliError, config_path
from idp.cli.db import cmd_db
from idp.cli.keys import cmd_keys
from idp.cli.serve import cmd_serve
from idp.cli.store_copy import cmd_store
from idp.cli.users import cmd_users
from idp.errors import ConfigError, Conflict, NotFound, SchemaOutdated, StoreError
from idp.keys import ALGORITHMS
from idp.oidc.models import CLIENT_SCOPES
from idp.settings import load_settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="idp", description="Pocket IdP")
    parser.add_argument("--config", help=f"TOML config file (default {DEFAULT_CONFIG})")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the provider")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--demo", action="store_true", help="create and print a demo user/client")
    serve.add_argument(
        "--log-level", default="info", choices=("critical", "error", "warning", "info", "debug")
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes (more than one needs a PostgreSQL store)",
    )
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
    add.add_argument("--json", action="store_true", help="print the user as `users show` does")
    imp = users.add_parser(
        "import", help="add many users from JSON Lines (one object per line; - for stdin)"
    )
    imp.add_argument("file")
    ls = users.add_parser("list")
    ls.add_argument("--json", action="store_true")
    users.add_parser("show", help="a user and the second factors they enrolled").add_argument(
        "username"
    )
    devices = users.add_parser(
        "devices", help="the devices a user has paired or remembered, of every second-factor method"
    )
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
    cadd.add_argument("--scope", help=f"space-separated, from: {' '.join(CLIENT_SCOPES)}")
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
    cadd.add_argument(
        "--no-remember-browser",
        dest="remember_browser",
        action="store_false",
        help="never skip the second factor on a remembered browser ([factors] remember_days)",
    )
    cadd.add_argument(
        "--no-postpone-enrollment",
        dest="postpone_enrollment",
        action="store_false",
        help="users must enroll a second factor now, whatever [factors] enroll_by says",
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

    db = sub.add_parser("db", help="the store's schema").add_subparsers(
        dest="action", required=True
    )
    db.add_parser(
        "init", help="create a new store with its tables (`idp serve` does too, at its first start)"
    )
    db.add_parser("upgrade", help="bring the schema up to this version's (back it up first)")

    store = sub.add_parser("store", help="move an installation").add_subparsers(
        dest="action", required=True
    )
    copy = store.add_parser("copy", help="copy everything into a new, empty store")
    copy.add_argument("--from", dest="source", required=True, help="sqlite:PATH or postgresql://")
    copy.add_argument("--to", dest="target", required=True, help="sqlite:PATH or postgresql://")
    return parser


#: psycopg's pool logs every failed attempt to connect; a command says it once, itself
QUIET_LOGGERS = ("psycopg.pool",)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        args.config_file = config_path(args.config)
        settings = load_settings(args.config_file)
        if args.command == "serve":
            cmd_serve(args, settings)  # uvicorn runs the event loop
        else:
            command = {
                "users": cmd_users,
                "clients": cmd_clients,
                "keys": cmd_keys,
                "db": cmd_db,
                "store": cmd_store,
            }[args.command]
            asyncio.run(command(args, settings))
    except ConfigError as exc:
        print(f"idp: configuration error: {exc}", file=sys.stderr)
        return 2
    except CliError as exc:
        print(f"idp: {exc}", file=sys.stderr)
        return exc.exit_status
    except (Conflict, InvalidField, NotFound, SchemaOutdated, StoreError) as exc:
        print(f"idp: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
