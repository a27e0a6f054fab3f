"""PostgreSQL (or the Redis cache beside it) stopped under a running IdP: every request
that needs it is answered 503 with Retry-After, in the caller's own form and soon; once
it is back, the IdP serves again by itself."""

from __future__ import annotations

import base64
import json
import threading
import time

import httpx
import pytest

from tests.servers.fixtures import Starter
from tests.servers.idp_nodes import IdpNodes, shared_store_settings
from tests.servers.postgresql import PostgresServer
from tests.servers.redis_server import RedisServer

pytestmark = pytest.mark.flow

#: how long an answer may take while the store is down
BOUNDED = 10.0
#: once a request has found the store unreachable, the next ones are answered at once
AT_ONCE = 2.0


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _timed(send: object) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = send()  # type: ignore[operator]
    return response, time.monotonic() - started


@pytest.mark.parametrize("cache", [None, "redis"])
def test_a_stopped_postgresql_gives_503s_and_the_idp_recovers_by_itself(
    cache: str | None,
    request: pytest.FixtureRequest,
    postgres_server: PostgresServer,
    postgres_url: str,
    start_idp_nodes: Starter[..., IdpNodes],
) -> None:
    """With a Redis cache that stays up, too: what needs PostgreSQL answers 503."""
    settings = shared_store_settings(postgres_url)
    if cache == "redis":
        settings["IDP_STORE_CACHE"] = request.getfixturevalue("redis_url")
    nodes = start_idp_nodes(1, settings=settings)
    created = json.loads(
        nodes.idp("clients", "add", "svc", "--grant", "client_credentials", "--json")
    )
    auth = (created["client_id"], created["client_secret"])
    url = nodes.urls[0]
    form = {"grant_type": "client_credentials"}
    assert httpx.post(f"{url}/token", data=form, auth=auth).status_code == 200
    device_token = f"{_b64({'alg': 'ES256'})}.{_b64({'iss': 'dev_x'})}.c2ln"

    postgres_server.kill()
    try:
        token, took = _timed(lambda: httpx.post(f"{url}/token", data=form, auth=auth, timeout=30))
        assert token.status_code == 503 and took < BOUNDED
        assert token.json()["error"] == "temporarily_unavailable"
        assert token.headers["retry-after"] == "5"
        assert token.headers["cache-control"] == "no-store"

        page, took = _timed(
            lambda: httpx.get(
                f"{url}/authorize",
                params={"client_id": "x", "response_type": "code"},
                headers={"accept-language": "nl"},
                timeout=30,
            )
        )
        assert page.status_code == 503 and took < AT_ONCE
        assert "Tijdelijk niet beschikbaar" in page.text
        assert page.headers["retry-after"] == "5"

        device, took = _timed(
            lambda: httpx.get(
                f"{url}/factors/pocket/api/v1/challenges",
                headers={"authorization": f"Device {device_token}"},
                timeout=30,
            )
        )
        assert device.status_code == 503 and took < AT_ONCE
        assert device.json()["error"] == "temporarily_unavailable"

        # what needs no store is still served
        assert httpx.get(f"{url}/.well-known/openid-configuration").status_code == 200
        assert httpx.get(f"{url}/jwks").status_code == 200
    finally:
        postgres_server.start()

    deadline = time.monotonic() + 15
    while True:
        answer = httpx.post(f"{url}/token", data=form, auth=auth, timeout=30)
        if answer.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert answer.status_code == 200, answer.text
    assert all("Traceback" not in log for log in nodes.logs().values())


def test_every_acknowledged_token_survives_a_sigkill_of_postgresql_under_load(
    postgres_server: PostgresServer,
    postgres_url: str,
    start_idp_nodes: Starter[..., IdpNodes],
) -> None:
    # the load is one client's, faster than its rate limit allows
    settings = shared_store_settings(postgres_url, IDP_RATE_LIMITS_TOKEN="0")
    nodes = start_idp_nodes(1, settings=settings)
    created = json.loads(
        nodes.idp("clients", "add", "svc", "--grant", "client_credentials", "--json")
    )
    auth = (created["client_id"], created["client_secret"])
    url = nodes.urls[0]
    issued: list[str] = []
    refused: list[int] = []
    stop = threading.Event()

    def ask() -> None:
        with httpx.Client(base_url=url, auth=auth, timeout=30) as client:
            for _ in range(2000):  # bounded: a few seconds of load
                if stop.is_set():
                    return
                answer = client.post("/token", data={"grant_type": "client_credentials"})
                if answer.status_code == 200:
                    issued.append(answer.json()["access_token"])
                else:
                    refused.append(answer.status_code)

    workers = [threading.Thread(target=ask) for _ in range(4)]
    for worker in workers:
        worker.start()
    time.sleep(1.0)
    postgres_server.kill()
    time.sleep(1.0)
    postgres_server.start()
    time.sleep(1.0)
    stop.set()
    for worker in workers:
        worker.join(60)

    assert issued
    assert set(refused) <= {503}  # a request the outage reached is refused cleanly, if at all
    with httpx.Client(base_url=url, auth=auth, timeout=30) as client:
        for token in issued:
            answer = client.post("/introspect", data={"token": token})
            assert answer.json()["active"] is True, token


def test_a_stopped_redis_cache_gives_503s_where_it_is_needed_and_the_idp_recovers(
    postgres_url: str,
    start_redis: Starter[..., RedisServer],
    start_idp_nodes: Starter[..., IdpNodes],
) -> None:
    redis = start_redis()
    nodes = start_idp_nodes(
        1, settings=shared_store_settings(postgres_url, IDP_STORE_CACHE=redis.url)
    )
    service = json.loads(
        nodes.idp("clients", "add", "svc", "--grant", "client_credentials", "--json")
    )
    app = json.loads(
        nodes.idp("clients", "add", "app", "--redirect-uri", "https://rp.test/cb", "--json")
    )
    url = nodes.urls[0]
    authorize = {
        "client_id": app["client_id"],
        "response_type": "code",
        "redirect_uri": "https://rp.test/cb",
        "scope": "openid",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
    }
    begun = httpx.get(f"{url}/authorize", params=authorize)
    assert begun.status_code == 303 and begun.headers["location"].startswith("/login/")

    redis.kill()
    try:
        # a login begins with a pending login, kept in Redis
        page, took = _timed(
            lambda: httpx.get(
                f"{url}/authorize",
                params=authorize,
                headers={"accept-language": "nl"},
                timeout=30,
            )
        )
        assert page.status_code == 503 and took < AT_ONCE
        assert "Tijdelijk niet beschikbaar" in page.text
        assert page.headers["retry-after"] == "5"
        # a client_credentials token needs PostgreSQL only
        form = {"grant_type": "client_credentials"}
        auth = (service["client_id"], service["client_secret"])
        assert httpx.post(f"{url}/token", data=form, auth=auth).status_code == 200
    finally:
        redis.start()

    deadline = time.monotonic() + 15
    while True:
        answer = httpx.get(f"{url}/authorize", params=authorize, timeout=30)
        if answer.status_code == 303 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert answer.status_code == 303, answer.text
    assert all("Traceback" not in log for log in nodes.logs().values())
