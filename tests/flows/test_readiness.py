"""The management port of a real `idp serve` on PostgreSQL (and Redis): /readyz says
503, naming the part, while the database or the cache is stopped, and 200 again once
it is back; /healthz says 200 throughout, since the process itself is fine."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.servers.fixtures import Starter
from tests.servers.idp_nodes import IdpNode, IdpNodes, shared_store_settings
from tests.servers.postgresql import PostgresServer
from tests.servers.redis_server import RedisServer

pytestmark = pytest.mark.flow

#: /readyz answers within the store's readiness timeout (2 s) and a little more
READYZ_TIMEOUT = 5.0


def readyz_once_it_says(node: IdpNode, status: int, within: float = 20.0) -> httpx.Response:
    """The first answer of /readyz with `status`; fails when none comes in time."""
    deadline = time.monotonic() + within
    while True:
        answer = httpx.get(f"{node.management_url}/readyz", timeout=READYZ_TIMEOUT)
        if answer.status_code == status:
            return answer
        assert time.monotonic() < deadline, (answer.status_code, answer.text)
        time.sleep(0.1)


def healthz(node: IdpNode) -> int:
    return httpx.get(f"{node.management_url}/healthz", timeout=READYZ_TIMEOUT).status_code


def test_readyz_is_503_while_postgresql_is_stopped_and_200_again_after(
    postgres_server: PostgresServer,
    postgres_url: str,
    start_idp_nodes: Starter[..., IdpNodes],
) -> None:
    [node] = start_idp_nodes(1, settings=shared_store_settings(postgres_url), management=True).nodes
    assert readyz_once_it_says(node, 200, within=0).json() == {"status": "ready"}

    postgres_server.stop()
    try:
        down = readyz_once_it_says(node, 503)
        assert down.json()["status"] == "unavailable"
        assert list(down.json()["problems"]) == ["store"]
        assert down.json()["problems"]["store"].startswith(f"the store {postgres_url} ")
        assert down.headers["cache-control"] == "no-store"
        assert healthz(node) == 200
    finally:
        postgres_server.start()

    assert readyz_once_it_says(node, 200).json() == {"status": "ready"}
    assert healthz(node) == 200


def test_readyz_names_the_redis_cache_while_it_is_stopped(
    postgres_url: str,
    start_redis: Starter[..., RedisServer],
    start_idp_nodes: Starter[..., IdpNodes],
) -> None:
    redis = start_redis()
    settings = shared_store_settings(postgres_url, IDP_STORE_CACHE=redis.url)
    [node] = start_idp_nodes(1, settings=settings, management=True).nodes
    assert readyz_once_it_says(node, 200, within=0).status_code == 200

    redis.stop()
    down = readyz_once_it_says(node, 503)
    assert list(down.json()["problems"]) == ["cache"], down.json()
    assert down.json()["problems"]["cache"].startswith(f"the cache {redis.url} ")
    assert healthz(node) == 200

    redis.start()
    assert readyz_once_it_says(node, 200).json() == {"status": "ready"}
