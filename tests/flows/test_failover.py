"""Two `idp serve` nodes behind HAProxy, and one of them crashes (SIGKILL) in the middle
of a login: after the password step, with the pending login in the store. The person
goes on through HAProxy, which sends every request to the node that is left (a request
it had sent to the dead one goes again to the other), sets up the authenticator app,
and the relying party (pyoidc) exchanges the code for tokens whose ID token it
validates. On PostgreSQL alone, and with the pending login in a Redis cache.
"""

from __future__ import annotations

import re

import psycopg
import pytest
import redis

from tests.flows.forms import Browser, password_step
from tests.flows.test_oic_rp import (
    assert_two_factors,
    authorization,
    code_at_rp,
    enroll_with_authenticator_app,
    registered_client,
    tokens,
)
from tests.servers.cluster import Cluster, start_cluster
from tests.servers.fixtures import Starter
from tests.servers.haproxy import HaproxyServer
from tests.servers.idp_nodes import IdpNodes

pytestmark = pytest.mark.flow

PASSWORD = "correct horse battery staple"
RP_CALLBACK = "https://rp.example.test/callback"
SCOPE = "openid profile email"


@pytest.fixture(params=["postgresql", "postgresql+redis"])
def cluster(
    request: pytest.FixtureRequest,
    postgres_url: str,
    start_idp_nodes: Starter[..., IdpNodes],
    start_haproxy: Starter[..., HaproxyServer],
) -> Cluster:
    settings = {}
    if request.param == "postgresql+redis":
        settings["IDP_STORE_CACHE"] = request.getfixturevalue("redis_url")
    # HAProxy's health checks would soon leave the killed node out; asked only once a
    # minute, they do not, and HAProxy goes on sending it every other request
    return start_cluster(
        postgres_url, start_idp_nodes, start_haproxy, settings=settings, health_interval=60
    )


def pending_logins(cluster: Cluster, postgres_url: str) -> int:
    """How many pending logins the store holds, wherever it keeps them."""
    cache = cluster.environ.get("IDP_STORE_CACHE")
    if cache:
        with redis.Redis.from_url(cache) as client:
            return len(list(client.scan_iter(match="idp:r:login:*")))
    with psycopg.connect(postgres_url) as conn:
        row = conn.execute("SELECT count(*) FROM records WHERE model = 'login'").fetchone()
    return int(row[0]) if row else 0


def test_a_login_goes_on_through_the_other_node_when_one_is_killed_after_the_password(
    cluster: Cluster, postgres_url: str
) -> None:
    assert cluster.nodes is not None and cluster.proxy is not None
    cluster.add_user("margriet", PASSWORD, name="Margriet van Dijk")
    registered = cluster.add_client(
        "pyoidc RP",
        redirect_uris=[RP_CALLBACK],
        grants=["authorization_code"],
        scope=SCOPE,
        mfa="required",
    )
    rp = registered_client(
        cluster.issuer, registered["client_id"], registered["client_secret"], RP_CALLBACK
    )
    auth = authorization(rp, RP_CALLBACK, scope=SCOPE)
    browser = Browser(cluster.issuer)
    page = password_step(browser, browser.open(auth.url), "margriet", PASSWORD)
    assert not page.away, page.describe()  # the second factor is next
    assert pending_logins(cluster, postgres_url) == 1

    cluster.nodes.kill(0)

    # the wizard, the code and the token exchange: every request through HAProxy
    enrolled = enroll_with_authenticator_app(browser, page)
    code = code_at_rp(rp, enrolled.arrival, auth, RP_CALLBACK)
    token_response = tokens(rp, code, auth, RP_CALLBACK)
    assert_two_factors(token_response["id_token"])
    assert token_response["id_token"]["iss"] == cluster.issuer
    assert "Traceback" not in cluster.nodes[1].log()
    # while HAProxy had not found the node dead (its first check comes at a moment of
    # its own choosing within the minute), the requests it sent there went to the
    # other: its log's retries field says "+N" for a request redispatched
    states = cluster.proxy.backend_states()
    assert states in (["UP", "UP"], ["DOWN", "UP"])
    if states == ["UP", "UP"]:
        assert re.search(r" \d+/\d+/\d+/\d+/\+1 ", cluster.proxy.log()), cluster.proxy.log()
