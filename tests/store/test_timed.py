"""The time of store operations on `/metrics` (idp.store.timed): by kind and backend,
read back with prometheus-client's own parser after a login and a token request."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from idp.management import with_management
from tests.conftest import Env, exchange, login

MANAGEMENT_PORT = 9000
SECONDS = "idp_store_operation_seconds"


def store_counts(env: Env) -> dict[tuple[str, str], float]:
    """How many store operations /metrics counted, by (kind, backend)."""
    app = with_management(env.app, MANAGEMENT_PORT)
    management = TestClient(app, base_url=f"http://127.0.0.1:{MANAGEMENT_PORT}")
    response = management.get("/metrics")
    assert response.status_code == 200
    return {
        (sample.labels["kind"], sample.labels["backend"]): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if sample.name == SECONDS + "_count"
    }


def test_the_store_operations_of_a_token_request_are_timed_by_kind(env: Env) -> None:
    env.add_user()
    env.add_client()
    code = login(env)["code"]
    before = store_counts(env)

    assert exchange(env, code).status_code == 200
    after = store_counts(env)
    for kind in ("read", "write", "unit"):
        assert after[kind, "sqlite"] > before.get((kind, "sqlite"), 0.0), kind
    assert {backend for _, backend in after} == {"sqlite"}
    assert {kind for kind, _ in after} <= {"read", "write", "counter", "unit"}
