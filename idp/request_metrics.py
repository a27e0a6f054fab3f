"""Counting every HTTP request by its route's template and its status class.

A pure ASGI wrapper outside both of the app's paths (IdPApp): the requests Starlette
routes, and the OAuth endpoints answered before routing. Either path leaves the route it
took in `scope["route"]` (Starlette's router does; the fast path sets it too), and the
template counted is that route's full path ("/login/{login_id}",
"/admin/api/v1/users/{user_id}"), never the path asked for, so the labels stay few.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from idp.metrics import Metrics

#: the template of a request no route took (a 404 of the router)
UNMATCHED = "unmatched"


def route_templates(routes: Iterable[BaseRoute], prefix: str = "") -> dict[int, str]:
    """The full path template of each route, mounts' included, by the route's id (routes
    compare by value, so they are no dictionary keys themselves)."""
    templates: dict[int, str] = {}
    for route in routes:
        if isinstance(route, Mount):
            templates[id(route)] = prefix + route.path
            templates.update(route_templates(route.routes, prefix + route.path))
        elif isinstance(route, Route):
            templates[id(route)] = prefix + route.path
    return templates


class CountRequests:
    """Counts each HTTP request of `app` once its response has started (or it failed
    before one did: a 500); `templates` are from `route_templates`."""

    def __init__(self, app: ASGIApp, metrics: Metrics, templates: dict[int, str]) -> None:
        self.app = app
        self.metrics = metrics
        self.templates = templates

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def send_counted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_counted)
        finally:
            route = scope.get("route")
            template = self.templates.get(id(route), UNMATCHED) if route else UNMATCHED
            self.metrics.request_answered(template, status)
