"""`idp serve`: run the provider with uvicorn."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from idp.settings import Settings


def cmd_serve(args: argparse.Namespace, settings: Settings) -> None:
    import uvicorn

    from idp.app import create_app
    from idp.demo import ensure_demo
    from idp.http_protocol import GatheringHttpToolsProtocol

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
        http=GatheringHttpToolsProtocol,
    )
