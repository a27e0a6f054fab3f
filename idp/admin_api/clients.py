"""/clients: relying parties (idp.admin.clients); a secret is in an answer only once,
when it is made."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from idp.admin.client_fields import CHANGEABLE, SETTABLE
from idp.admin.clients import ClientAdmin, client_json
from idp.admin_api.access import acting_trail
from idp.admin_api.answers import answer, body_of, no_content


def _clients(request: Request) -> ClientAdmin:
    return ClientAdmin(request.app.state.provider.store, acting_trail(request))


async def create(request: Request) -> Response:
    body = await body_of(request, SETTABLE)
    registered = await _clients(request).register(body)
    shown = {**client_json(registered.client), "client_secret": registered.secret}
    return answer(shown, 201)


async def listed(request: Request) -> Response:
    return answer({"items": [client_json(c) for c in await _clients(request).list()]})


async def show(request: Request) -> Response:
    return answer(client_json(await _clients(request).get(request.path_params["client_id"])))


async def change(request: Request) -> Response:
    body = await body_of(request, CHANGEABLE)
    changed = await _clients(request).change(request.path_params["client_id"], body)
    return answer(client_json(changed))


async def rotate_secret(request: Request) -> Response:
    await body_of(request, ())
    rotated = await _clients(request).rotate_secret(request.path_params["client_id"])
    return answer({"client_id": rotated.client.client_id, "client_secret": rotated.secret})


async def remove(request: Request) -> Response:
    await _clients(request).remove(request.path_params["client_id"])
    return no_content()
