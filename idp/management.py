"""The management port (`[server] management_port`): what load balancers and monitoring
ask a process, on a listening socket of its own beside the IdP's.

- `GET /healthz`: the process is up and its event loop answers (200).
- `GET /readyz`: it can serve requests now: 200 when the store (and the Redis cache, if
  configured) answers and has the schema this version works with; otherwise 503, with
  each part that cannot serve and why. A load balancer sends requests only to the
  processes that are ready.
- `GET /metrics`: the process's metrics (idp.metrics) in Prometheus' text format; with
  several worker processes, the sum over all of them, whichever worker answers.

The first two answer JSON that is never cached. The sockets of both ports are served by the same
uvicorn server (`idp serve`), so a process that shuts down stops answering here too, at
the moment it stops accepting requests.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from idp.metrics import CONTENT_TYPE, Metrics
from idp.store import Store

_NO_STORE = {"Cache-Control": "no-store"}


def create_management_app(store: Store, metrics: Metrics) -> Starlette:
    """The management endpoints of a process whose store is `store` and whose metrics
    are `metrics`."""

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "up"}, headers=_NO_STORE)

    async def readyz(request: Request) -> JSONResponse:
        problems = await store.readiness()
        if problems:
            body = {"status": "unavailable", "problems": problems}
            return JSONResponse(body, status_code=503, headers=_NO_STORE)
        return JSONResponse({"status": "ready"}, headers=_NO_STORE)

    async def metrics_text(request: Request) -> Response:
        body = metrics.exposition()
        return Response(body, media_type=CONTENT_TYPE, headers=_NO_STORE)

    return Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics_text, methods=["GET"]),
        ]
    )


class ByListeningPort:
    """One ASGI app for a server that listens on two ports: HTTP requests that came in
    on `port` go to `management`, everything else (the IdP's requests, the lifespan)
    to `app`."""

    def __init__(self, app: ASGIApp, management: ASGIApp, port: int) -> None:
        self.app = app
        self.management = management
        self.port = port

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        server = scope.get("server")
        if scope["type"] == "http" and server is not None and server[1] == self.port:
            await self.management(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def with_management(app: Starlette, port: int) -> ASGIApp:
    """The IdP `app` (from `create_app`), with the management endpoints on `port`."""
    provider = app.state.provider
    return ByListeningPort(app, create_management_app(provider.store, provider.metrics), port)
