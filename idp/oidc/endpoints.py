"""The token, revocation and introspection endpoints: authlib behind the adapter."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from idp.oidc.adapter import oauth_response

if TYPE_CHECKING:
    from idp.provider import Provider


async def token(request: Request) -> Response:
    provider: Provider = request.app.state.provider
    started = time.perf_counter()
    try:
        oauth = provider.oauth
        return await oauth_response(
            request,
            oauth.create_token_response,
            provider.store,
            provider.rate_limits,
            landed=oauth.count_issued,
        )
    finally:
        provider.metrics.token_seconds.observe(time.perf_counter() - started)


async def revoke(request: Request) -> Response:
    provider: Provider = request.app.state.provider
    return await oauth_response(
        request,
        lambda r: provider.oauth.create_endpoint_response("revocation", r),  # type: ignore[no-untyped-call]
        provider.store,
        provider.rate_limits,
    )


async def introspect(request: Request) -> Response:
    provider: Provider = request.app.state.provider
    return await oauth_response(
        request,
        lambda r: provider.oauth.create_endpoint_response("introspection", r),  # type: ignore[no-untyped-call]
        provider.store,
        provider.rate_limits,
    )
