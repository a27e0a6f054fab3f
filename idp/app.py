"""create_app(settings) -> Starlette: routes, error pages, plugins."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from idp import account, account_browsers, account_password, demo
from idp.access_log import AccessLog
from idp.admin_api import PREFIX as ADMIN_API
from idp.admin_api.answers import error as admin_error
from idp.admin_api.routes import api_routes
from idp.errors import StoreError, StoreUnavailable
from idp.factors import FactorPlugin
from idp.login import consent, factor_methods, password, postpone
from idp.metrics import Metrics
from idp.oidc import authorize, discovery, endpoints, logout, userinfo
from idp.oidc.adapter import NO_STORE, UNAVAILABLE
from idp.provider import Provider
from idp.request_ids import RequestIds
from idp.request_metrics import CountRequests, route_templates
from idp.security_headers import SecurityHeaders, security_headers
from idp.settings import Settings
from idp.stop_signals import on_stop_signal
from idp.store import Store

log = logging.getLogger("idp")

_JSON_PATHS = (
    "/token",
    "/revoke",
    "/introspect",
    "/userinfo",
    "/.well-known/",
    "/jwks",
    ADMIN_API + "/",
)

Endpoint = Callable[[Request], Awaitable[Response]]

#: the endpoints clients call with POST alone, many times a second
OAUTH_ENDPOINTS: dict[str, Endpoint] = {
    "/token": endpoints.token,
    "/introspect": endpoints.introspect,
    "/revoke": endpoints.revoke,
}


def routes(provider: Provider, with_demo: bool) -> list[BaseRoute]:
    table: list[BaseRoute] = [
        # Starlette tries routes in order: the busiest come first (POST to the OAuth
        # endpoints is answered before routing, by IdPApp)
        *(Route(path, endpoint, methods=["POST"]) for path, endpoint in OAUTH_ENDPOINTS.items()),
        Route("/.well-known/openid-configuration", discovery.discovery, methods=["GET"]),
        Route("/jwks", discovery.jwks, methods=["GET"]),
        Route("/authorize", authorize.authorize, methods=["GET", "POST"]),
        Route("/userinfo", userinfo.userinfo, methods=["GET", "POST"]),
        Route("/logout", logout.end_session, methods=["GET", "POST"]),
        Route("/logout/confirm", logout.confirm_logout, methods=["POST"]),
        Route("/login/{login_id}", password.login_page, methods=["GET"]),
        Route("/login/{login_id}", password.login_submit, methods=["POST"]),
        Route("/login/{login_id}/methods", factor_methods.methods_page, methods=["GET", "POST"]),
        Route("/consent/{login_id}", consent.consent_page, methods=["GET"]),
        Route("/consent/{login_id}", consent.consent_submit, methods=["POST"]),
        Mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static"),
    ]
    table.append(Mount(ADMIN_API, routes=api_routes()))
    table.extend(postpone.routes())
    table.extend(account.routes())
    table.extend(account_password.routes())
    table.extend(account_browsers.routes())
    for name, plugin in provider.plugins.items():
        table.append(Mount(f"/factors/{name}", routes=list(plugin.routes())))
    if with_demo:
        table.extend(demo.routes())
    return table


def _wants_json(request: Request) -> bool:
    return _route_path(request.scope).startswith(_JSON_PATHS)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if _route_path(request.scope).startswith(ADMIN_API + "/"):
        code = {404: "not_found", 405: "invalid_request"}.get(exc.status_code, "invalid_request")
        return admin_error(exc.status_code, code, str(exc.detail), headers=exc.headers)
    if _wants_json(request):
        error = "invalid_request" if exc.status_code < 500 else "server_error"
        return JSONResponse(
            {"error": error, "error_description": exc.detail},
            status_code=exc.status_code,
            headers=exc.headers,
        )
    provider: Provider = request.app.state.provider
    key = "not_found" if exc.status_code == 404 else "bad_request"
    return provider.pages.error(
        request, f"error.{key}.title", f"error.{key}.text", status_code=exc.status_code
    )


#: what a client is told to wait before trying again while the store is unreachable
RETRY_AFTER_SECONDS = 5


async def _unavailable(request: Request, exc: Exception) -> Response:
    """The store is down: 503 with Retry-After, in the form the caller reads."""
    request.app.state.provider.metrics.store_error(unavailable=True)
    log.warning("%s %s: the store is unavailable: %s", request.method, request.url.path, exc)
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if _route_path(request.scope).startswith(ADMIN_API + "/"):
        return admin_error(
            503, "temporarily_unavailable", UNAVAILABLE, headers={**headers, **NO_STORE}
        )
    if _wants_json(request):
        return JSONResponse(
            {"error": "temporarily_unavailable", "error_description": UNAVAILABLE},
            status_code=503,
            headers={**headers, **NO_STORE},
        )
    provider: Provider = request.app.state.provider
    page = provider.pages.error(
        request, "error.unavailable.title", "error.unavailable.text", status_code=503
    )
    page.headers.update(headers)
    return page


async def _server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    if isinstance(exc, StoreError):
        request.app.state.provider.metrics.store_error(unavailable=False)
    if _wants_json(request):
        return JSONResponse({"error": "server_error"}, status_code=500)
    provider: Provider = request.app.state.provider
    return provider.pages.error(request, "error.server.title", "error.server.text", status_code=500)


def _route_path(scope: Scope) -> str:
    """The path within the app, as Starlette's router matches it (without root_path; a
    mount's handler sees its own root_path grown by the mount, its app's in
    app_root_path)."""
    path: str = scope["path"]
    root: str = scope.get("app_root_path", scope.get("root_path", ""))
    return path[len(root) :] if root and path.startswith(root) else path


class IdPApp(Starlette):
    """Starlette, with POST to the token, introspection and revocation endpoints
    answered before its middleware and routing.

    Those endpoints are the bulk of the traffic (machine clients ask for a token, resource
    servers introspect it), and their answer is OAuth's own JSON whatever happens: the
    adapter catches every failure, and what it does not (a form that cannot be read) gets
    the same error handlers as through the router. The middleware stack and routing
    would add nothing but their time, about a tenth of such a request's.

    The security headers, the request id (and the trusted proxies' X-Forwarded-*), the
    access log, if on, and the count of every request (idp.request_metrics) are added
    outside both paths, so that every request has them and is counted.
    """

    def __init__(
        self,
        *,
        https: bool,
        metrics: Metrics,
        trusted_proxies: tuple[str, ...] = (),
        access_log: bool = False,
        **starlette: Any,
    ) -> None:
        super().__init__(**starlette)
        #: the router's own routes of the fast path's endpoints, which it counts under
        self.fast_routes = {
            route.path: route
            for route in self.router.routes
            if isinstance(route, Route) and route.path in OAUTH_ENDPOINTS
        }
        counted = CountRequests(self.answer, metrics, route_templates(self.router.routes))
        inner: ASGIApp = SecurityHeaders(counted, security_headers(https))
        if access_log:
            inner = AccessLog(inner)
        #: every request, whichever path answers it, passes these wrappers first
        self.outermost = RequestIds(inner, trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.outermost(scope, receive, send)

    async def answer(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = ""
        endpoint = None
        if scope["type"] == "http" and scope["method"] == "POST":
            path = _route_path(scope)
            endpoint = OAUTH_ENDPOINTS.get(path)
        if endpoint is None:
            await super().__call__(scope, receive, send)
            return
        scope["app"] = self
        scope["route"] = self.fast_routes.get(path)
        request = Request(scope, receive)
        try:
            response = await endpoint(request)
        except HTTPException as exc:
            response = await _http_error(request, exc)
        except StoreUnavailable as exc:
            response = await _unavailable(request, exc)
        except Exception as exc:
            response = await _server_error(request, exc)
        await response(scope, receive, send)


def create_app(
    settings: Settings,
    *,
    store: Store | None = None,
    plugins: Mapping[str, FactorPlugin] | None = None,
    with_demo: bool = False,
    on_start: Callable[[Provider], Awaitable[None]] | None = None,
    access_log: bool = False,
) -> Starlette:
    """The IdP as an ASGI app; `on_start` runs once the provider has started (in the
    lifespan, before the first request); `access_log` logs every request (idp.access_log)."""
    provider = Provider(settings, store=store, plugins=plugins)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await provider.start()
        if on_start is not None:
            await on_start(provider)
        undo = on_stop_signal(provider.stopping)
        try:
            yield
        finally:
            undo()
        await provider.shut_down()

    app = IdPApp(
        https=settings.https,
        metrics=provider.metrics,
        trusted_proxies=settings.server.trusted_proxies,
        access_log=access_log,
        routes=routes(provider, with_demo),
        exception_handlers={
            HTTPException: _http_error,
            StoreUnavailable: _unavailable,
            Exception: _server_error,
        },
        lifespan=lifespan,
    )
    app.state.provider = provider
    return app
