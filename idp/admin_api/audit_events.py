"""/audit-events: the security audit trail (idp.admin.audit), oldest first, page by page."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from idp.admin.audit import AuditAdmin
from idp.admin_api.answers import answer


async def listed(request: Request) -> Response:
    query = request.query_params
    page = await AuditAdmin(request.app.state.provider.audit).page(
        user=query.get("user"),
        event=query.get("event"),
        since=query.get("since"),
        until=query.get("until"),
        limit=query.get("limit"),
        cursor=query.get("cursor"),
    )
    return answer({"items": page.events, "next_cursor": page.cursor})
