"""The "Set up later" button of an enrollment's first page (login/enrollment_deadline.py).

The plugin shows the button where the host gives it one (FactorHost.postponement); the
decision is the host's: this route checks that the user may still postpone, uses up one
postponement, and continues the login without a second factor.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from idp.login.password import csrf_ok

if TYPE_CHECKING:
    from idp.provider import Provider


async def postpone(request: Request) -> Response:
    provider: Provider = request.app.state.provider
    login = await provider.state.load(request, request.path_params["login_id"])
    if login is None or login.sub is None:
        return provider.expired(request)
    form = await request.form()
    if not csrf_ok(login, form.get("csrf")):
        return provider.pages.error(
            request, "error.csrf.title", "error.csrf.text", status_code=403, locale=login.locale
        )
    client = await provider.store.get_client(login.request.client_id)
    user = await provider.store.get_user(login.sub)
    if (
        client is not None
        and user is not None
        and await provider.postponement_allowed(login) is not None
        and await provider.enrollment_deadline.postpone(user, client)
    ):
        login.enrollment_postponed = True
        await provider.audit.record(
            "enrollment_postponed", sub=user.sub, client=client.client_id, request=request
        )
    # without a postponement left, the login goes on to the enrollment it needs
    return await provider.pipeline.resume(request, login)


def routes() -> list[BaseRoute]:
    return [Route("/login/{login_id}/later", postpone, methods=["POST"])]
