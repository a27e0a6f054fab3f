"""The headers every HTTP response carries, whatever answered it.

A pure ASGI wrapper: it adds its precomputed header lines to each response's start
message, which is all it does, so it costs a few list operations per response.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: RFC 6797: browsers reach this host, and every subdomain, over https alone for a year
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
#: browsers take each response for the content type it declares, never for what it sniffs
NOSNIFF = (b"x-content-type-options", b"nosniff")


def security_headers(https: bool) -> tuple[tuple[bytes, bytes], ...]:
    """The header lines of every response; HSTS only where the issuer is https (a browser
    ignores it over plain http, RFC 6797 section 8.1)."""
    return (HSTS, NOSNIFF) if https else (NOSNIFF,)


class SecurityHeaders:
    """Adds `headers` to the start of every HTTP response of `app`."""

    def __init__(self, app: ASGIApp, headers: tuple[tuple[bytes, bytes], ...]) -> None:
        self.app = app
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = self.headers

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)
