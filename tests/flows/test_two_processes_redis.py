"""Two `idp serve` processes on one PostgreSQL with a Redis cache, behind HAProxy.

pyoidc logs a person in with the code flow, pairing a phone on the way, and then again
through a push approval that the phone sends to one process while the page waits on
the other: only a wake-up through Redis pub/sub can tell the page (the PostgreSQL store
does not listen when a cache carries the wake-ups). Afterwards the codes, pending logins,
challenges and counters are keys in Redis, and none of them is a row in PostgreSQL.
"""

from __future__ import annotations

import psycopg
import pytest
import redis

from idp.store.short_lived import SHORT_LIVED_MODELS
from tests.flows.test_two_processes import enroll_then_push_across_processes
from tests.servers.cluster import Cluster, start_cluster
from tests.servers.fixtures import Starter
from tests.servers.haproxy import HaproxyServer
from tests.servers.idp_nodes import IdpNodes

pytestmark = pytest.mark.flow


@pytest.fixture
def cluster(
    postgres_url: str,
    redis_url: str,
    start_idp_nodes: Starter[..., IdpNodes],
    start_haproxy: Starter[..., HaproxyServer],
) -> Cluster:
    settings = {"IDP_STORE_CACHE": redis_url}
    return start_cluster(postgres_url, start_idp_nodes, start_haproxy, settings=settings)


def test_logins_across_two_processes_keep_their_short_lived_state_in_redis(
    cluster: Cluster, postgres_url: str, redis_url: str
) -> None:
    challenge_id = enroll_then_push_across_processes(cluster)

    # what is where: the short-lived state in Redis, the lasting records in PostgreSQL
    with redis.Redis.from_url(redis_url) as client:
        keys = [key.decode() for key in client.scan_iter(match="idp:*")]
        assert all(client.pttl(key) > 0 for key in keys), keys
    in_redis = {key.split(":")[2] for key in keys if key.startswith("idp:r:")}
    assert {"code", "login", "pocket-challenge", "pocket-outcome", "pocket-pairing"} <= in_redis
    assert f"idp:r:pocket-challenge:{challenge_id}" in keys
    assert any(key.startswith("idp:c:") for key in keys)  # counters
    with psycopg.connect(postgres_url) as conn:
        in_postgres = {model for (model,) in conn.execute("SELECT DISTINCT model FROM records")}
        counters = conn.execute("SELECT count(*) FROM counters").fetchone()
    assert {"access_token", "session", "pocket-device"} <= in_postgres
    assert not in_postgres & SHORT_LIVED_MODELS.keys(), in_postgres
    assert counters == (0,)
