"""The API's answers: JSON, never cached, and one form for every error:
{"error": code, "error_description": text, "field": the field at fault or null}."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from idp.admin.errors import InvalidField, NotFound, Taken
from idp.json_input import JsonInputError, parse_json
from idp.oidc.adapter import NO_STORE

Handler = Callable[[Request], Awaitable[Response]]

#: the longest body read; no operation needs more than a client's JWK Set
MAX_BODY = 64 * 1024


def answer(data: Any, status: int = 200) -> Response:
    return Response(
        orjson.dumps(data), status_code=status, media_type="application/json", headers=NO_STORE
    )


def no_content() -> Response:
    return Response(status_code=204, headers=NO_STORE)


def error(
    status: int,
    code: str,
    description: str,
    field: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    body = {"error": code, "error_description": description, "field": field}
    response = answer(body, status)
    response.headers.update(headers or {})
    return response


async def body_of(request: Request, allowed: tuple[str, ...]) -> dict[str, Any]:
    """The request's JSON object, with only the `allowed` members (InvalidField otherwise).
    An empty body is an empty object."""
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise InvalidField(None, f"the body is larger than {MAX_BODY} bytes")
    if not raw.strip():
        return {}
    try:
        value = parse_json(raw)
    except JsonInputError as exc:
        raise InvalidField(None, f"the body is {exc}") from None
    if not isinstance(value, dict):
        raise InvalidField(None, "the body must be a JSON object")
    for name in value:
        if name not in allowed:
            raise InvalidField(name, f"is not a field of this request ({', '.join(allowed)})")
    return value


def refusals(handler: Handler) -> Handler:
    """The operation's refusals as the API's errors."""

    async def answered(request: Request) -> Response:
        try:
            return await handler(request)
        except InvalidField as exc:
            return error(400, "invalid_request", exc.description, exc.field)
        except NotFound as exc:
            return error(404, "not_found", str(exc))
        except Taken as exc:
            return error(409, "conflict", exc.description, exc.field)

    return answered
