"""The management port's endpoints (/healthz, /readyz) and how requests reach them: by
the port they came in on, beside the IdP's own."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from idp.app import create_app
from idp.management import with_management
from idp.store.sqlite_schema import LATEST
from tests.conftest import make_settings

MANAGEMENT_PORT = 9000


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[TestClient, TestClient, Path]]:
    """Clients of one app on the IdP's port and on the management port, and the store's
    file."""
    settings = make_settings(tmp_path, IDP_SERVER_MANAGEMENT_PORT=str(MANAGEMENT_PORT))
    app = with_management(create_app(settings), MANAGEMENT_PORT)
    with (
        TestClient(app, base_url="http://127.0.0.1:8000") as idp,
        TestClient(app, base_url=f"http://127.0.0.1:{MANAGEMENT_PORT}") as management,
    ):
        yield idp, management, Path(settings.store.path)


def test_healthz_and_readyz_answer_on_the_management_port_alone(
    served: tuple[TestClient, TestClient, Path],
) -> None:
    idp, management, _ = served
    healthz = management.get("/healthz")
    assert (healthz.status_code, healthz.json()) == (200, {"status": "up"})
    assert healthz.headers["cache-control"] == "no-store"
    readyz = management.get("/readyz")
    assert (readyz.status_code, readyz.json()) == (200, {"status": "ready"})

    # the IdP's port does not serve them, and the management port serves nothing else
    assert idp.get("/readyz").status_code == 404
    assert idp.get("/.well-known/openid-configuration").status_code == 200
    assert management.get("/.well-known/openid-configuration").status_code == 404
    assert management.post("/token").status_code == 404


def test_readyz_is_503_naming_the_store_whose_schema_is_not_this_versions(
    served: tuple[TestClient, TestClient, Path],
) -> None:
    _, management, path = served
    with sqlite3.connect(path) as conn:  # a newer version of the IdP upgraded the file
        conn.execute(f"PRAGMA user_version = {LATEST + 1}")
    readyz = management.get("/readyz")
    assert readyz.status_code == 503
    body = readyz.json()
    assert body["status"] == "unavailable" and list(body["problems"]) == ["store"]
    assert f"schema version {LATEST + 1}, newer than this version" in body["problems"]["store"]
    assert management.get("/healthz").status_code == 200

    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {LATEST}")
    assert management.get("/readyz").status_code == 200
