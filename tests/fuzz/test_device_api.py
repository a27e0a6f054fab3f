"""Fuzzing every route of the Pocket device API, with tokens signed by bob's phone."""

from __future__ import annotations

import time
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from plugins.pocket_mfa.push.protocol import API_PATH, api_base
from tests.conftest import ISSUER
from tests.fuzz.strategies import (
    FUZZ,
    VALUE,
    encode,
    form,
    headers,
    json_body,
    json_object,
    jwts,
    requests,
)
from tests.fuzz.world import World
from tests.plugins.pocket_mfa.push.conftest import Phone

#: every route; those that read a body twice as often
ROUTES = (
    ("POST", "/pair"),
    ("POST", "/pair"),
    ("GET", "/challenges"),
    ("POST", "/challenges/{id}/answer"),
    ("POST", "/challenges/{id}/answer"),
    ("GET", "/device"),
    ("DELETE", "/device"),
    ("GET", "/openapi.json"),
)


def device_requests(world: World) -> Any:
    """Requests from bob's phone as it is paired now: a signed token of its own, or a JWT
    that is more or less one; the members of every body the API reads."""
    phone = world.phone
    now = int(time.time())
    claims = json_object(
        {
            "iss": st.sampled_from((phone.device_id, "dev_unknown")),
            "aud": st.sampled_from((api_base(ISSUER), ISSUER, [api_base(ISSUER)])),
            "iat": st.sampled_from((now, now + 3600, 1e308, True)),
            "exp": st.sampled_from((now + 60, now + 600, now - 60, 10**30)),
            "jti": st.uuids().map(str),
        }
    )
    authorization = (
        st.builds(lambda: f"Device {phone.token()}"),
        jwts(claims, key=phone.private_key).map(lambda token: f"Device {token}"),
    )
    public_key = st.builds(lambda: Phone(world.client, time.time).public_key)
    members = {
        "pairing_token": st.one_of(
            st.builds(world.pairing_token), st.sampled_from(("pp_unknown", "activation"))
        ),
        "public_key": st.one_of(
            public_key,
            public_key.map(lambda key: {**key, "d": "x"}),
            st.just({"kty": "EC", "crv": "P-256", "x": [[[]]], "y": "AA"}),
        ),
        "device_name": st.sampled_from(("Pixel", " ", "x" * 101)),
        "push_address": st.sampled_from(("https://push.test/x", "x" * 5000)),
        "decision": st.sampled_from(("approve", "deny")),
        "number": st.sampled_from((7, -1, 2**64 - 1, 2**70, 1.5, True)),
        "fraud": st.booleans(),
        "signature": st.sampled_from(("AAAA", "***", "A" * 86, "A===")),
    }
    return {
        method: requests(
            (method,),
            form({}, {"wait": ("0", "0.01", "-1", "31", "nan", "inf", "1e309")}),
            headers(authorization=authorization, content_type="application/json"),
            json=json_body(members),
        )
        for method in ("GET", "POST", "DELETE")
    }


@FUZZ
@given(data=st.data(), route=st.sampled_from(ROUTES))
def test_device_api(world: World, data: st.DataObject, route: tuple[str, str]) -> None:
    method, path = route
    if "{id}" in path:
        challenge = world.challenge_id() if data.draw(st.booleans()) else data.draw(VALUE)
        path = path.replace("{id}", encode(challenge))
    phone = world.paired_phone()
    request = data.draw(world.strategy(phone.device_id, device_requests)[method])
    world.fuzz(API_PATH + path, request)
