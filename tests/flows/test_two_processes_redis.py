"""Two `idp serve` processes on one PostgreSQL with a Redis cache, behind HAProxy.

pyoidc logs a person in with the code flow, pairing a phone on the way, and then again
through a push approval that the phone sends to one process while the page waits on
the other: only a wake-up through Redis pub/sub can tell the page (the PostgreSQL store
does not listen when a cache carries the wake-ups). Afterwards the codes, pending logins,
challenges and counters are keys in Redis, and none of them is a row in PostgreSQL.
"""

from __future__ import annotations

import concurrent.futures
import re
import time
from dataclasses import replace
from urllib.parse import urljoin, urlsplit

import psycopg
import pytest
import redis

from idp.store.short_lived import SHORT_LIVED_MODELS
from plugins.pocket_mfa.client import device_api
from plugins.pocket_mfa.push.protocol import api_base
from tests.flows.test_oic_rp_push import (
    ACR_MFA,
    Browser,
    id_token_at_rp,
    log_in,
    pair_phone,
    path_of,
    provision,
    rp_client,
)
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
    assert cluster.nodes is not None
    rp = rp_client(provision(cluster))
    browser_node, phone_node = cluster.nodes.urls

    # a code-flow login that pairs a phone on the way
    browser = Browser()
    page, state, verifier = log_in(rp, browser)
    phone = pair_phone(browser, page)
    done = browser.get(page.url + "/pair")
    assert path_of(done).endswith("/done"), done.url
    claims = id_token_at_rp(rp, browser.post(done.url, done, action="next"), state, verifier)
    assert claims["amr"] == ["pwd", "swk", "mfa"]

    # a push login: the page waits on one process, the phone answers on the other
    phone = replace(phone, base_url=api_base(phone_node))
    browser = Browser()
    page, state, verifier = log_in(rp, browser)
    number = re.search(r'id="push-number"[^>]*>(\d+)<', page.text)
    wait_path = re.search(r'data-pocket-wait="([^"]+)"', page.text)
    assert number and wait_path, page.text
    wait_url = urljoin(browser_node + urlsplit(page.url).path, wait_path.group(1))
    with (
        device_api.DeviceApi(phone) as api,
        concurrent.futures.ThreadPoolExecutor(1) as waiting,
    ):
        waited = waiting.submit(browser.session.get, wait_url, timeout=30)
        time.sleep(0.3)  # the page is waiting on its long-poll
        [challenge] = api.challenges()
        answered_at = time.monotonic()
        assert api.answer(challenge["id"], "approve", int(number.group(1))) == "approved"
        answer = waited.result(timeout=30)
        woken_after = time.monotonic() - answered_at
    assert answer.json() == {"done": True, "next": urlsplit(page.url).path}
    assert woken_after < 5  # without the wake-up, the long-poll's 25 s
    arrival = browser.session.get(page.url, allow_redirects=False)
    claims = id_token_at_rp(rp, arrival, state, verifier)
    assert claims["amr"] == ["pwd", "swk", "mfa"] and claims["acr"] == ACR_MFA

    # what is where: the short-lived state in Redis, the lasting records in PostgreSQL
    with redis.Redis.from_url(redis_url) as client:
        keys = [key.decode() for key in client.scan_iter(match="idp:*")]
        assert all(client.pttl(key) > 0 for key in keys), keys
    in_redis = {key.split(":")[2] for key in keys if key.startswith("idp:r:")}
    assert {"code", "login", "pocket-challenge", "pocket-outcome", "pocket-pairing"} <= in_redis
    assert f"idp:r:pocket-challenge:{challenge['id']}" in keys
    assert any(key.startswith("idp:c:") for key in keys)  # counters
    with psycopg.connect(postgres_url) as conn:
        in_postgres = {model for (model,) in conn.execute("SELECT DISTINCT model FROM records")}
        counters = conn.execute("SELECT count(*) FROM counters").fetchone()
    assert {"access_token", "session", "pocket-device"} <= in_postgres
    assert not in_postgres & SHORT_LIVED_MODELS.keys(), in_postgres
    assert counters == (0,)
