"""/keys: the signing keys (idp.admin.keys); never their private halves."""

from __future__ import annotations

from dataclasses import asdict

from starlette.requests import Request
from starlette.responses import Response

from idp.admin.keys import KeyAdmin
from idp.admin_api.access import acting_trail
from idp.admin_api.answers import answer, body_of


def _keys(request: Request) -> KeyAdmin:
    return KeyAdmin(request.app.state.provider.keys, acting_trail(request))


async def listed(request: Request) -> Response:
    return answer({"items": [asdict(k) for k in await _keys(request).list()]})


async def rotate(request: Request) -> Response:
    body = await body_of(request, ("algorithms",))
    new = await _keys(request).rotate(body.get("algorithms"))
    return answer({"items": [asdict(k) for k in new]})
