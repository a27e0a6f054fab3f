"""`idp serve`: run the provider with uvicorn."""

from __future__ import annotations

import argparse
import asyncio
import copy
import gc
import logging
import logging.config
import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from idp.cli.common import CliError
from idp.settings import ServerSettings, Settings

log = logging.getLogger("idp")

#: container objects allocated (net) before the youngest generation is collected
GC_YOUNG_THRESHOLD = 10_000


def tune_for_serving() -> None:
    """Settings of the Python process for a long-running server.

    - Signing threads hand the GIL back to the event loop sooner (default 5 ms).
    - What exists once the app is loaded (modules, classes, templates: tens of thousands
      of objects) lives as long as the process, so the garbage collector stops walking it
      (`gc.freeze`). Each full collection walked all of it, about 20 ms, twice a
      second under load: objects of requests still in flight are promoted and then
      gathered only by a full collection.
    - The youngest generation is collected after 10,000 allocations instead of 700. A
      collection walks only what is still alive (the objects of requests in flight), about
      as many either way, so it runs fourteen times less often for the same cost each.
    Measured with `bench/`: together about 8% more client_credentials tokens per second.
    """
    sys.setswitchinterval(0.0005)
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)


def logging_config(level: str, log_format: str = "text") -> dict[str, Any]:
    """uvicorn's logging, with the `idp` loggers (the access log, `idp.access`, among
    them) on its console handler at `level`, on stderr; each record names its request
    (idp.log_format). `log_format` "json" writes every line as one JSON object."""
    from uvicorn.config import LOG_LEVELS, LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"request_id": {"()": "idp.log_format.WithRequestId"}}
    for handler in config["handlers"].values():
        handler["filters"] = ["request_id"]
    if log_format == "json":
        json_lines = {"()": "idp.log_format.JsonFormatter"}
        config["formatters"] = {"default": json_lines, "access": dict(json_lines)}
        # every line on stderr, the JSON objects of uvicorn's own access log too
        config["handlers"]["access"]["stream"] = "ext://sys.stderr"
    else:
        config["formatters"]["default"]["()"] = "idp.log_format.TextFormatter"
    config["loggers"]["idp"] = {"handlers": ["default"], "level": LOG_LEVELS[level]}
    # psycopg's pool logs every failed attempt to connect; the store's own warning and
    # the 503 answers say it once
    config["loggers"]["psycopg.pool"] = {"handlers": ["default"], "level": "ERROR"}
    # Python's warnings too, through logging.captureWarnings (in the same format)
    config["loggers"]["py.warnings"] = {"handlers": ["default"], "propagate": False}
    return config


def log_trusted_proxies(server: ServerSettings) -> None:
    """Say once which proxies may set a request's address and scheme."""
    proxies = server.trusted_proxies
    if not proxies:
        log.info(
            "no proxy is trusted: X-Forwarded-For and X-Forwarded-Proto are ignored "
            "(server.forwarded_allow_ips is empty)"
        )
    elif proxies == ("*",):
        log.warning(
            "every client is trusted as a proxy: any X-Forwarded-For sets the address a "
            'request is taken for (server.forwarded_allow_ips = "*")'
        )
    else:
        log.info(
            "X-Forwarded-For and X-Forwarded-Proto are trusted from %s "
            "(server.forwarded_allow_ips)",
            ", ".join(proxies),
        )


def cmd_serve(args: argparse.Namespace, settings: Settings) -> None:
    import uvicorn

    from idp.app import create_app
    from idp.demo import ensure_demo
    from idp.http_protocol import GatheringHttpToolsProtocol
    from idp.management import with_management
    from idp.provider import Provider

    log_config = logging_config(args.log_level, settings.logging.format)
    logging.config.dictConfig(log_config)
    logging.captureWarnings(True)
    log_trusted_proxies(settings.server)
    host = args.host or settings.server.host
    port = args.port or settings.server.port
    on_start = None
    if args.demo:

        async def on_start(provider: Provider) -> None:
            secrets_file = Path(settings.store.path).with_name("demo-account.json")
            account = await ensure_demo(provider, secrets_file)
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

    workers = args.workers or 1
    if workers > 1 and not settings.store.networked:
        raise CliError(
            f"--workers {workers} needs a store that several processes can share (a"
            " PostgreSQL [store] url); the embedded sqlite file serves one process"
        )
    # a store that cannot be used (an older schema, a database that cannot be reached) is
    # refused here with the command's one-line message, before uvicorn starts
    asyncio.run(_check_store(settings))
    access_log = settings.server.access_log if args.access_log is None else args.access_log
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_config": log_config,
        "log_level": args.log_level,
        # the app keeps its own access log (idp.access_log), with the time taken and the
        # request id, and applies the trusted proxies' X-Forwarded-* itself, where it
        # still knows which proxy connected (idp.request_ids)
        "access_log": False,
        "proxy_headers": False,
        "server_header": False,
        "http": GatheringHttpToolsProtocol,
    }
    management_port = settings.server.management_port
    if management_port and management_port == port:
        raise CliError(f"--port {port} is the management port (server.management_port)")
    if workers == 1:
        app = create_app(settings, with_demo=args.demo, on_start=on_start, access_log=access_log)
        tune_for_serving()
        if management_port:
            run_with_management(with_management(app, management_port), management_port, options)
        else:
            uvicorn.run(app, **options)
        return
    if on_start is not None:
        asyncio.run(_started_once(settings, on_start))
    # each worker process builds its own app from the same configuration
    if args.config_file:
        os.environ["IDP_CONFIG"] = str(Path(args.config_file).resolve())
    os.environ[_WORKER_DEMO] = "1" if args.demo else ""
    os.environ["IDP_SERVER_ACCESS_LOG"] = "true" if access_log else "false"
    factory: dict[str, Any] = {"factory": True, "workers": workers}
    with metrics_folder():
        if management_port:
            run_with_management(f"{__name__}:worker_app", management_port, {**options, **factory})
        else:
            from idp.cli.workers import Workers

            config = uvicorn.Config(f"{__name__}:worker_app", **factory, **options)
            Workers(config, sockets=[config.bind_socket()]).run()


@contextmanager
def metrics_folder() -> Iterator[None]:
    """A private folder where every worker process keeps its metrics (prometheus-client's
    multiprocess mode: PROMETHEUS_MULTIPROC_DIR, which the workers inherit), so that
    `/metrics` adds up all of them; removed when the server stops."""
    from idp.metrics import MULTIPROC_DIR

    folder = tempfile.mkdtemp(prefix="idp-metrics-")
    os.environ[MULTIPROC_DIR] = folder
    try:
        yield
    finally:
        del os.environ[MULTIPROC_DIR]
        shutil.rmtree(folder, ignore_errors=True)


def run_with_management(app: Any, management_port: int, options: dict[str, Any]) -> None:
    """`uvicorn.run(app, **options)`, with a second listening socket on the management
    port beside the main one; `app` tells their requests apart (`with_management`).

    uvicorn binds the sockets itself only for a single host and port; here both are
    bound first and handed to the server (one process) or to every worker process
    (`--workers N`), as uvicorn does with its one socket for workers: each worker
    accepts on both, so /readyz is answered by a process that serves requests, about
    its own connections to the store, and stops being answered when it shuts down."""
    import uvicorn
    from uvicorn.main import STARTUP_FAILURE  # type: ignore[attr-defined]

    from idp.cli.workers import Workers

    config = uvicorn.Config(app, **options)
    sockets = [config.bind_socket(), _listening_socket(config.host, management_port)]
    log.info(
        "health checks at http://%s:%d/healthz and /readyz (server.management_port)",
        config.host,
        management_port,
    )
    if config.workers > 1:
        Workers(config, sockets=sockets).run()
        return
    config.load_app()
    server = uvicorn.Server(config)
    server.run(sockets=sockets)
    if not server.started:
        sys.exit(STARTUP_FAILURE)


def _listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to `host`:`port`, which worker processes inherit (as uvicorn
    binds its own)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise CliError(f"cannot listen on the management port {host}:{port}: {exc}") from None
    sock.set_inheritable(True)
    return sock


#: tells a worker process whether to serve the demo relying party
_WORKER_DEMO = "POCKET_IDP_WORKER_DEMO"


def worker_app() -> Any:
    """The app of one of several worker processes (`idp serve --workers N`)."""
    from idp.app import create_app
    from idp.cli.common import config_path
    from idp.management import with_management
    from idp.settings import load_settings

    settings = load_settings(config_path(None))
    logging.captureWarnings(True)
    app = create_app(
        settings,
        with_demo=bool(os.environ.get(_WORKER_DEMO)),
        access_log=settings.server.access_log,
    )
    tune_for_serving()
    if settings.server.management_port:
        return with_management(app, settings.server.management_port)
    return app


async def _check_store(settings: Settings) -> None:
    """Open the store as a server would (creating an embedded one that is not there yet),
    then close it; SchemaOutdated or StoreError if it cannot serve."""
    from idp.store import open_store

    store = open_store(settings.store)
    await store.start()
    await store.close()


async def _started_once(settings: Settings, on_start: Callable[[Any], Awaitable[None]]) -> None:
    """Run `on_start` once, before the worker processes start."""
    from idp.provider import Provider

    provider = Provider(settings)
    await provider.start()
    try:
        await on_start(provider)
    finally:
        await provider.shut_down()
