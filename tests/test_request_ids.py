"""Every response carries X-Request-Id; the id names the request's log records and its
error page, and an id that a trusted proxy sends is kept."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from idp.app import create_app
from idp.log_format import WithRequestId
from tests.conftest import ISSUER, Env, make_settings
from tests.failing_commit import commits_fail

PROXY = "10.0.0.9"
OURS = re.compile(r"[0-9a-f]{16}")


@pytest.fixture
def proxied(tmp_path: Path) -> Iterator[TestClient]:
    """A provider behind a trusted proxy, which the test client connects as."""
    settings = make_settings(tmp_path, IDP_SERVER_FORWARDED_ALLOW_IPS=PROXY)
    app = create_app(settings)
    with TestClient(app, base_url=ISSUER, client=(PROXY, 40000)) as client:
        yield client


def test_every_response_has_an_id_of_its_own(env: Env) -> None:
    discovery = env.client.get("/.well-known/openid-configuration")
    token = env.client.post("/token", data={"grant_type": "client_credentials"})  # fast path
    ids = [discovery.headers["x-request-id"], token.headers["x-request-id"]]
    assert all(OURS.fullmatch(i) for i in ids) and ids[0] != ids[1]


def test_an_id_from_a_client_that_is_no_trusted_proxy_is_replaced(env: Env) -> None:
    answer = env.client.get("/jwks", headers={"X-Request-Id": "chosen-by-the-client"})
    assert OURS.fullmatch(answer.headers["x-request-id"])


def test_a_trusted_proxys_well_formed_id_is_kept(proxied: TestClient) -> None:
    kept = proxied.get("/jwks", headers={"X-Request-Id": "4bf92f35-77b3-4da6-a3ce-929d0e0e4736"})
    assert kept.headers["x-request-id"] == "4bf92f35-77b3-4da6-a3ce-929d0e0e4736"
    for bad in ("two words", "x" * 200, "<script>"):
        replaced = proxied.get("/jwks", headers={"X-Request-Id": bad})
        assert OURS.fullmatch(replaced.headers["x-request-id"]), bad


@pytest.mark.parametrize(
    ("language", "label"), [("en", "Reference: "), ("nl", "Referentie: ")], ids=["en", "nl"]
)
def test_an_error_page_shows_its_request_id(env: Env, language: str, label: str) -> None:
    page = env.client.get("/no/such/page", headers={"Accept-Language": language})
    assert page.status_code == 404
    assert label + page.headers["x-request-id"] in page.text


def test_the_log_records_of_a_request_carry_its_id(env: Env) -> None:
    env.add_client("service", secret="srv-secret", grant_types=("client_credentials",))
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.addFilter(WithRequestId())
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("idp")
    logger.addHandler(handler)
    try:
        with commits_fail(env.store, "disk I/O error"):
            answer = env.client.post(
                "/token", data={"grant_type": "client_credentials"}, auth=("service", "srv-secret")
            )
    finally:
        logger.removeHandler(handler)
    assert answer.status_code == 500
    [failure] = [r for r in records if "failed" in r.getMessage()]
    assert failure.request_id == answer.headers["x-request-id"]  # type: ignore[attr-defined]
