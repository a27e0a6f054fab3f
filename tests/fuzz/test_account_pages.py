"""Fuzzing the account pages and the Pocket plugin's pages: those of a login's second
factor step (of a real pending login, or a made-up one) and those of alice's session."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import hidden_inputs
from tests.fuzz.strategies import FUZZ, VALUE, Good, encode, form, headers, requests
from tests.fuzz.world import BROWSER, TOKEN, World

LOGIN_PAGES = (
    "enroll/{id}",
    "enroll/{id}/app",
    "enroll/{id}/done",
    "enroll/{id}/install",
    "enroll/{id}/pair",
    "enroll/{id}/pair/wait",
    "verify/{id}",
    "push/{id}",
    "push/{id}/wait",
)
SESSION_PAGES = (
    "/account",
    "/account/callback",
    "/account/consents/revoke",
    "/account/password",
    "/account/password/{id}",
    "/factors/pocket/manage",
    "/factors/pocket/manage/app/{id}",
    "/factors/pocket/manage/pair/{id}",
    "/factors/pocket/manage/pair/{id}/wait",
    "/factors/pocket/manage/confirm/{id}",
    "/factors/pocket/manage/confirmed/{id}",
    "/factors/pocket/confirm/{id}",
    "/factors/pocket/confirm/{id}/wait",
    "/factors/pocket/help",
    "/factors/pocket/static/{id}",
)


def page_requests(world: World) -> Any:
    optional: dict[str, Good] = {
        "action": (
            *("next", "back", "stop", "codes", "app", "pocket", "remove", "send"),
            *("push", "code", "confirm", "change", "check", "cancel"),
        ),
        "method": ("totp", "push", "recovery"),
        "code": ("000000", "123456", "abcd-efgh"),
        "current": ("000000",),
        "new": ("short", "a long new password"),
        "repeat": ("a long new password",),
        "client_id": ("rp", "third"),
        "state": ("x",),
    }
    fields = form({"csrf": (TOKEN,)}, optional)
    return requests(("GET", "POST"), fields, headers(cookies=(BROWSER,)))


@FUZZ
@given(data=st.data())
def test_account_and_plugin_pages(world: World, data: st.DataObject) -> None:
    request = data.draw(world.strategy("pages", page_requests))
    if data.draw(st.integers(0, 2)) == 0:
        # a page of a real login in the plugin's step: alice enrolls, bob gets a push
        username = data.draw(st.sampled_from(("alice", "bob")))
        page, cookie, csrf = world.pending_login("strict", username=username)
        # the host's method chooser (/login/<id>/methods) or a Pocket page of the login
        login_id = page.split("/")[2 if page.startswith("/login/") else 4]
        path = "/factors/pocket/" + data.draw(st.sampled_from(LOGIN_PAGES))
        path = path.replace("{id}", login_id)
    else:
        path = data.draw(st.sampled_from((*SESSION_PAGES, *LOGIN_PAGES)))
        if not path.startswith("/"):
            path = f"/factors/pocket/{path}"
        path, cookie = path.replace("{id}", encode(data.draw(VALUE))), world.sso
        csrf = ""
        if data.draw(st.booleans()):
            page = world.send("GET", "/factors/pocket/manage", headers={"cookie": cookie})
            csrf = hidden_inputs(page.text).get("csrf", "")
    response = world.fuzz(path, request, cookie=cookie, token=csrf)
    location = response.headers.get("location", "")
    if location.startswith("/") and data.draw(st.booleans()):
        # one step further along, where the page sent the browser
        world.fuzz(location, data.draw(world.strategy("pages", page_requests)), cookie, csrf)
