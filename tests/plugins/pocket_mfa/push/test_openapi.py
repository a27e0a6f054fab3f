"""The device API describes itself: every route is in /openapi.json."""

from __future__ import annotations

import re

from starlette.routing import Route

from plugins.pocket_mfa.push.api import device_routes
from plugins.pocket_mfa.push.protocol import API_PATH
from tests.plugins.pocket_mfa.push.conftest import ISSUER, PushEnv


def test_every_route_is_described(push: PushEnv) -> None:
    response = push.client.get(f"{API_PATH}/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    assert doc["openapi"].startswith("3.1")
    assert doc["servers"] == [{"url": ISSUER + API_PATH}]
    routes = [r for r in device_routes(push.service) if isinstance(r, Route)]
    assert routes
    for route in routes:
        assert route.path in doc["paths"], route.path
        described = {m.upper() for m in doc["paths"][route.path]}
        assert (route.methods or set()) - {"HEAD"} == described, route.path
    assert set(doc["paths"]) == {r.path for r in routes}


def test_references_resolve(push: PushEnv) -> None:
    doc = push.client.get(f"{API_PATH}/openapi.json").json()
    text = str(doc)
    for name in re.findall(r"#/components/schemas/(\w+)", text):
        assert name in doc["components"]["schemas"], name
    answer = doc["components"]["schemas"]["Answer"]["properties"]["signature"]["description"]
    assert "pocket-answer.v1|<challenge id>|<decision>|<number or empty>|<fraud 0/1>" in answer
