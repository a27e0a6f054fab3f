"""A request id for every HTTP request: in the X-Request-Id header of its response, in
the log records made while it is served, and on its error pages.

A proxy this server trusts ([server] forwarded_allow_ips) may pass its own id in
X-Request-Id, which is kept when well formed; any other request gets a new one.
"""

from __future__ import annotations

import re
import secrets
from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

HEADER = b"x-request-id"
#: what an id from a proxy may be: a token of letters, digits and - _ . : (a UUID, say)
WELL_FORMED = re.compile(rb"[A-Za-z0-9._:-]{1,128}")

#: the id of the request being served, in whatever it runs (set by RequestIds)
request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def new_request_id() -> str:
    """16 hexadecimal digits, unguessable and short enough to read out."""
    return secrets.token_hex(8)


class RequestIds:
    """Gives each HTTP request of `app` its id, and its response the header.

    With trusted proxies, the address and scheme they forward are applied here too
    (uvicorn's own ProxyHeadersMiddleware, wrapped rather than run by uvicorn): only
    here is the connecting address still known, which decides whether an incoming id
    may be kept.
    """

    def __init__(self, app: ASGIApp, trusted_proxies: tuple[str, ...] = ()) -> None:
        self.trusted = None
        if trusted_proxies:
            proxied = ProxyHeadersMiddleware(app, trusted_hosts=list(trusted_proxies))  # type: ignore[arg-type]
            self.trusted = proxied.trusted_hosts
            app = proxied  # type: ignore[assignment]
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = self._incoming(scope) or new_request_id()
        line = (HEADER, rid.encode("ascii"))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), line]
            await send(message)

        token = request_id.set(rid)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id.reset(token)

    def _incoming(self, scope: Scope) -> str | None:
        """A well-formed id a trusted proxy sent, if any."""
        if self.trusted is None:
            return None
        client = scope.get("client")
        if not client or client[0] not in self.trusted:
            return None
        for name, value in scope["headers"]:
            if name == HEADER:
                return value.decode("ascii") if WELL_FORMED.fullmatch(value) else None
        return None
