"""The OpenAPI document: served, describing exactly the routes there are, and held to by
the live server: schemathesis sends what the document allows, with a real admin token
from `idp serve`, and every answer must be documented, match its schema and be no 5xx."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from idp.admin_api import PREFIX
from idp.admin_api.routes import OPERATIONS
from tests.admin_api.conftest import API, AdminApi
from tests.live import LiveServer, live_server

#: examples per operation: twenty operations in about 20 s on a quiet machine
EXAMPLES = 10
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def test_the_document_describes_every_operation_and_no_other(api: AdminApi) -> None:
    answer = api.env.client.get(f"{API}/openapi.json")
    assert answer.status_code == 200
    document = answer.json()
    assert document["openapi"].startswith("3.1")
    assert document["servers"] == [{"url": api.env.settings.issuer + PREFIX}]
    described = {
        (path, method.upper())
        for path, item in document["paths"].items()
        for method in item
        if method != "parameters"
    }
    assert described == {(path, method) for path, method, _ in OPERATIONS}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str]]:
    """`idp serve` with alice (who has a password) and an admin client's token."""
    with live_server(tmp_path_factory.mktemp("admin-api")) as live:
        live.add_user("alice", "long enough", name="Alice")
        created = live.idp(
            "clients",
            "add",
            "Partner",
            "--grant",
            "client_credentials",
            "--scope",
            "admin",
            "--json",
        )
        client = json.loads(created)
        answer = httpx.post(
            f"{live.url}/token",
            data={"grant_type": "client_credentials", "scope": "admin"},
            auth=(client["client_id"], client["client_secret"]),
        )
        assert answer.status_code == 200, answer.text
        yield live, answer.json()["access_token"]


def test_every_answer_matches_the_document(server: tuple[LiveServer, str]) -> None:
    live, token = server
    schema = schemathesis.openapi.from_url(f"{live.url}{API}/openapi.json")
    headers = {"Authorization": f"Bearer {token}"}
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def conforms(case: schemathesis.Case) -> None:
            case.call_and_validate(base_url=live.url + API, headers=headers, checks=CHECKS)

        conforms()
