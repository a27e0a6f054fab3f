"""/users: accounts, their passwords and their second factors (idp.admin.users)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from idp.admin.user_fields import CLAIMS
from idp.admin.users import UserAdmin, UserMethod
from idp.admin_api.access import acting_trail
from idp.admin_api.answers import answer, body_of, no_content
from idp.store import User

if TYPE_CHECKING:
    from idp.provider import Provider


def user_admin(request: Request) -> UserAdmin:
    provider: Provider = request.app.state.provider
    return UserAdmin(provider.store, provider.passwords, provider.plugins, acting_trail(request))


def user_json(user: User) -> dict[str, Any]:
    return {
        "id": user.sub,
        "username": user.username,
        "claims": {name: getattr(user, name) for name in CLAIMS},
        "disabled": user.disabled,
        "has_password": bool(user.password_hash),
        "created_at": user.created_at,
        "updated_at": user.updated_at,
    }


def method_json(m: UserMethod) -> dict[str, Any]:
    return {
        "id": m.id,
        "plugin": m.plugin,
        "kind": m.method.kind,
        "label": m.method.label,
        "device": m.method.device,
        "created_at": m.method.created_at,
        "last_used": m.method.last_used,
    }


async def create(request: Request) -> Response:
    body = await body_of(request, ("username", "claims", "password"))
    user = await user_admin(request).add(
        body.get("username"), body.get("claims"), body.get("password")
    )
    return answer(user_json(user), 201)


async def listed(request: Request) -> Response:
    query = request.query_params
    page = await user_admin(request).page(
        query.get("limit"), query.get("cursor"), query.get("search", "")
    )
    return answer({"items": [user_json(u) for u in page.users], "next_cursor": page.cursor})


async def show(request: Request) -> Response:
    return answer(user_json(await user_admin(request).get(request.path_params["id"])))


async def change(request: Request) -> Response:
    body = await body_of(request, ("claims", "disabled"))
    changed = await user_admin(request).change(
        request.path_params["id"], body.get("claims"), body.get("disabled")
    )
    return answer(user_json(changed))


async def remove(request: Request) -> Response:
    await user_admin(request).remove(request.path_params["id"])
    return no_content()


async def set_password(request: Request) -> Response:
    body = await body_of(request, ("password",))
    await user_admin(request).set_password(request.path_params["id"], body.get("password"))
    return no_content()


async def reset_second_factor(request: Request) -> Response:
    await body_of(request, ())
    removed = await user_admin(request).reset_second_factor(request.path_params["id"])
    return answer({"removed": removed})


async def methods(request: Request) -> Response:
    found = await user_admin(request).methods(request.path_params["id"])
    return answer({"items": [method_json(m) for m in found]})


async def remove_method(request: Request) -> Response:
    params = request.path_params
    await user_admin(request).remove_method(params["id"], params["method_id"])
    return no_content()
