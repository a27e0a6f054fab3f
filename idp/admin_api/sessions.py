"""/users/{id}/sessions: a user's single sign-on sessions (idp.admin.sessions)."""

from __future__ import annotations

from dataclasses import asdict

from starlette.requests import Request
from starlette.responses import Response

from idp.admin.sessions import SessionAdmin
from idp.admin_api.access import acting_trail
from idp.admin_api.answers import answer, no_content
from idp.admin_api.users import user_admin


def _sessions(request: Request) -> SessionAdmin:
    return SessionAdmin(request.app.state.provider.store, acting_trail(request))


async def listed(request: Request) -> Response:
    user = await user_admin(request).get(request.path_params["id"])
    found = await _sessions(request).list(user.sub)
    return answer({"items": [asdict(s) for s in found]})


async def end(request: Request) -> Response:
    user = await user_admin(request).get(request.path_params["id"])
    await _sessions(request).end(user.sub, request.path_params["sid"])
    return no_content()


async def end_all(request: Request) -> Response:
    user = await user_admin(request).get(request.path_params["id"])
    return answer({"ended": await _sessions(request).end_all(user.sub)})
