"""Every response carries X-Content-Type-Options, and HSTS where the issuer is https:
every route of the app (the plugin's and the demo's included), static files, errors,
and the OAuth POSTs answered before routing."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.testclient import TestClient

from idp.app import create_app

from .conftest import make_settings

HSTS = "max-age=31536000; includeSubDomains"
#: stands for every path parameter: an id nothing has
UNKNOWN_ID = "no-such-id"


def requests_for(routes: Sequence[BaseRoute], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(method, path) for every route and mount under `routes`: a method each route
    takes (GET where it can), every file of each static folder and one it does not have."""
    for route in routes:
        if isinstance(route, Route):
            path = prefix + re.sub(r"\{[^}]+\}", UNKNOWN_ID, route.path)
            methods = route.methods or {"GET"}
            yield ("GET" if "GET" in methods else sorted(methods - {"HEAD"})[0]), path
        elif isinstance(route, Mount) and isinstance(route.app, StaticFiles):
            assert route.app.directory is not None
            folder = Path(route.app.directory)
            for file in sorted(p for p in folder.rglob("*") if p.is_file()):
                yield "GET", f"{prefix}{route.path}/{file.relative_to(folder).as_posix()}"
            yield "GET", f"{prefix}{route.path}/no-such-file.css"
        elif isinstance(route, Mount):
            yield from requests_for(route.routes, prefix + route.path)
        else:
            raise AssertionError(f"a route of a kind this test does not know: {route!r}")


@pytest.mark.parametrize("issuer", ["http://idp.test", "https://idp.test"])
def test_every_response_has_the_security_headers(tmp_path: Path, issuer: str) -> None:
    settings = make_settings(tmp_path, IDP_SERVER_ISSUER=issuer, IDP_FACTORS_ENABLED="pocket")
    app = create_app(settings, with_demo=True)
    requests = [
        *requests_for(app.routes),
        ("GET", "/no-such-page"),  # 404 page
        ("GET", "/.well-known/no-such-document"),  # 404 as OAuth JSON
        ("DELETE", "/jwks"),  # 405
        ("GET", "/token"),  # 405 where POST is answered before routing
        # answered before middleware and routing
        ("POST", "/token"),
        ("POST", "/introspect"),
        ("POST", "/revoke"),
    ]
    with TestClient(app, base_url=issuer, follow_redirects=False) as client:
        answers = {
            (m, p): client.request(m, p, data={} if m == "POST" else None) for m, p in requests
        }

    paths = {path for _, path in answers}
    assert {"/factors/pocket/api/v1/challenges", "/static/idp.css", "/demo"} <= paths
    statuses = {answer.status_code for answer in answers.values()}
    assert {200, 303, 400, 401, 404, 405} <= statuses
    for (method, path), answer in answers.items():
        where = f"{method} {path} ({answer.status_code})"
        assert answer.headers.get_list("x-content-type-options") == ["nosniff"], where
        expected_hsts = [HSTS] if issuer.startswith("https:") else []
        assert answer.headers.get_list("strict-transport-security") == expected_hsts, where


def test_server_errors_have_the_security_headers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(tmp_path, IDP_SERVER_ISSUER="https://idp.test")
    app = create_app(settings)

    async def broken(*args: object) -> None:
        raise RuntimeError("the store went away")

    with TestClient(app, base_url=settings.issuer, raise_server_exceptions=False) as client:
        monkeypatch.setattr(app.state.provider.store, "get_client", broken)
        routed = client.get("/authorize", params={"client_id": "rp", "response_type": "code"})
        fast = client.post("/token", data={"grant_type": "client_credentials"}, auth=("rp", "x"))

    for answer in (routed, fast):
        assert answer.status_code == 500
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["strict-transport-security"] == HSTS
