"""The access log (`idp serve --access-log`, [server] access_log): one line per HTTP
request, when its response has been sent, on the `idp.access` logger.

The line says who asked (the address after trusted-proxy handling), the method and
path (without the query, which may carry what is no one's business), the status, the
time taken and the request id; the same values ride on the record as attributes
(`client`, `method`, `path`, `status`, `duration_ms`, `request_id`) for the JSON format.
The app is wrapped only when the log is on, so it costs nothing otherwise.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from idp.request_ids import request_id

log = logging.getLogger("idp.access")


class AccessLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the server answers if the app fails before it starts one

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            duration_ms = round((time.perf_counter() - started) * 1000, 1)
            client = scope.get("client")
            address = client[0] if client else "-"
            method, path = scope["method"], scope.get("root_path", "") + scope["path"]
            rid = request_id.get()
            log.info(
                '%s "%s %s" %d %.1f ms %s',
                address,
                method,
                path,
                status,
                duration_ms,
                rid,
                extra={
                    "client": address,
                    "method": method,
                    "path": path,
                    "status": status,
                    "duration_ms": duration_ms,
                    "request_id": rid,
                },
            )
