"""Fuzzing the login and consent forms, of a real pending login and of made-up ones."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import PASSWORD
from tests.fuzz.strategies import FUZZ, VALUE, encode, form, headers, requests
from tests.fuzz.world import BROWSER, TOKEN, World


def form_requests(world: World) -> Any:
    fields = {
        "csrf": (TOKEN,),
        "username": ("alice", "bob", "ALICE ", ""),
        "password": (PASSWORD, "wrong"),
        "action": ("login", "cancel", "allow", "deny"),
    }
    return requests(("GET", "POST"), form(fields), headers(cookies=(BROWSER,)))


@FUZZ
@given(data=st.data(), step=st.sampled_from(("login", "consent")))
def test_login_and_consent_forms(world: World, data: st.DataObject, step: str) -> None:
    request = data.draw(world.strategy("login forms", form_requests))
    if data.draw(st.integers(0, 2)) == 0:
        world.fuzz(f"/{step}/" + encode(data.draw(VALUE)), request)
        return
    # a real pending login; the consent page is asked for by a third-party client
    if step == "login":
        page, cookie, csrf = world.pending_login()
    else:
        page, cookie, csrf = world.pending_login("third", "alice", prompt="consent")
        assert page.startswith("/consent/"), page
    world.fuzz(page, request, cookie=cookie, token=csrf)
