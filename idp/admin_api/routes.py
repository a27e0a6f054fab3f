"""The API's routes: every operation behind the admin token check, its refusals in the
API's error form; the OpenAPI document open to all."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from idp.admin_api import audit_events, clients, keys, sessions, users
from idp.admin_api.access import admin_only
from idp.admin_api.answers import Handler, answer, refusals
from idp.admin_api.openapi import document

#: (path, method, handler) of every operation; openapi.py describes the same
OPERATIONS: tuple[tuple[str, str, Handler], ...] = (
    ("/users", "POST", users.create),
    ("/users", "GET", users.listed),
    ("/users/{id}", "GET", users.show),
    ("/users/{id}", "PATCH", users.change),
    ("/users/{id}", "DELETE", users.remove),
    ("/users/{id}/password", "POST", users.set_password),
    ("/users/{id}/second-factor/reset", "POST", users.reset_second_factor),
    ("/users/{id}/methods", "GET", users.methods),
    ("/users/{id}/methods/{method_id}", "DELETE", users.remove_method),
    ("/users/{id}/sessions", "GET", sessions.listed),
    ("/users/{id}/sessions", "DELETE", sessions.end_all),
    ("/users/{id}/sessions/{sid}", "DELETE", sessions.end),
    ("/clients", "POST", clients.create),
    ("/clients", "GET", clients.listed),
    ("/clients/{client_id}", "GET", clients.show),
    ("/clients/{client_id}", "PATCH", clients.change),
    ("/clients/{client_id}", "DELETE", clients.remove),
    ("/clients/{client_id}/secret", "POST", clients.rotate_secret),
    ("/keys", "GET", keys.listed),
    ("/keys/rotate", "POST", keys.rotate),
    ("/audit-events", "GET", audit_events.listed),
)


async def openapi(request: Request) -> Response:
    return answer(document(str(request.app.state.provider.settings.issuer)))


def api_routes() -> list[Route]:
    by_path: dict[str, dict[str, Handler]] = {}
    for path, method, handler in OPERATIONS:
        by_path.setdefault(path, {})[method] = admin_only(refusals(handler))
    table = [Route("/openapi.json", openapi, methods=["GET"])]
    for path, handlers in by_path.items():
        table.append(Route(path, _by_method(handlers), methods=list(handlers)))
    return table


def _by_method(handlers: dict[str, Handler]) -> Handler:
    async def endpoint(request: Request) -> Response:
        # Starlette answers HEAD wherever GET is allowed
        return await handlers[request.method if request.method in handlers else "GET"](request)

    return endpoint
