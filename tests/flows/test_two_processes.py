"""Two `idp serve` processes on one PostgreSQL behind HAProxy (round robin, per request).

pyoidc, a relying-party library the server does not use, logs a person in through a
push approval while the browser's requests alternate between the processes; the phone
talks to one process and the page waits on the other, so the answer reaches the page
only through a wake-up that crosses processes (LISTEN/NOTIFY). Codes and refresh
tokens are used up once, however many requests race for them on both processes.
"""

from __future__ import annotations

import concurrent.futures
import html
import json
import os
import re
import threading
import time
from dataclasses import replace
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from plugins.pocket_mfa.client import device_api, device_key
from plugins.pocket_mfa.client.state import DeviceState
from plugins.pocket_mfa.push.protocol import api_base, parse_pairing_uri
from tests.flows.test_oic_rp_push import (
    ACR_MFA,
    PASSWORD,
    RP_CALLBACK,
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
from tests.servers.idp_nodes import IdpNodes, shared_store_settings

pytestmark = pytest.mark.flow


@pytest.fixture
def cluster(
    postgres_url: str,
    start_idp_nodes: Starter[..., IdpNodes],
    start_haproxy: Starter[..., HaproxyServer],
) -> Cluster:
    return start_cluster(postgres_url, start_idp_nodes, start_haproxy)


def test_pyoidc_push_login_across_two_processes(cluster: Cluster) -> None:
    enroll_then_push_across_processes(cluster)


def enroll_then_push_across_processes(cluster: Cluster) -> str:
    """A first login that pairs a phone through the load balancer, then a push login
    whose page waits on one process while the phone answers on the other; the push's
    challenge id."""
    assert cluster.nodes is not None
    rp = rp_client(provision(cluster))
    browser_node, phone_node = cluster.nodes.urls

    # the first login enrolls; the phone pairs through the load balancer
    browser = Browser()
    page, state, verifier = log_in(rp, browser)
    phone = pair_phone(browser, page)
    done = browser.get(
        page.url.replace("/login/", "/factors/pocket/enroll/").removesuffix("/methods") + "/pair"
    )
    assert path_of(done).endswith("/done"), done.url
    claims = id_token_at_rp(rp, browser.post(done.url, done, action="next"), state, verifier)
    assert claims["amr"] == ["pwd", "swk", "mfa"]

    # the next login: the page waits on one process, the phone answers on the other
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
    # without a wake-up from the other process the page would wait out its long-poll (25 s)
    assert woken_after < 5
    arrival = browser.session.get(page.url, allow_redirects=False)
    claims = id_token_at_rp(rp, arrival, state, verifier)
    assert claims["amr"] == ["pwd", "swk", "mfa"] and claims["acr"] == ACR_MFA
    return str(challenge["id"])


def test_a_code_and_a_refresh_token_are_used_once_across_two_processes(
    cluster: Cluster,
) -> None:
    assert cluster.nodes is not None
    cluster.add_user("bram", PASSWORD)
    client = cluster.add_client("racer", redirect_uris=[RP_CALLBACK], mfa="optional")
    auth = (client["client_id"], client["client_secret"])
    browser = Browser()
    query = {
        "response_type": "code",
        "client_id": client["client_id"],
        "redirect_uri": RP_CALLBACK,
        "scope": "openid offline_access",
    }
    page = browser.get(f"{cluster.issuer}/authorize?" + str(httpx.QueryParams(query)))
    arrival = browser.post(page.url, page, username="bram", password=PASSWORD, action="login")
    code = httpx.URL(arrival.headers["location"]).params["code"]

    def race(form: dict[str, str]) -> list[httpx.Response]:
        """20 requests at once, half to each process."""
        urls = cluster.nodes.urls  # type: ignore[union-attr]
        with concurrent.futures.ThreadPoolExecutor(20) as pool:
            sent = [
                pool.submit(httpx.post, f"{urls[n % 2]}/token", data=form, auth=auth)
                for n in range(20)
            ]
            return [f.result() for f in sent]

    exchanged = race(
        {"grant_type": "authorization_code", "code": code, "redirect_uri": RP_CALLBACK}
    )
    winners = [r for r in exchanged if r.status_code == 200]
    assert len(winners) == 1, [r.text for r in exchanged]
    assert {r.json()["error"] for r in exchanged if r.status_code != 200} == {"invalid_grant"}
    # the code was used again: what it gave is revoked (RFC 6749 4.1.2)
    tokens = winners[0].json()
    introspected = httpx.post(
        f"{cluster.issuer}/introspect", data={"token": tokens["access_token"]}, auth=auth
    )
    assert introspected.json() == {"active": False}

    # a fresh grant's refresh token, rotated by 20 requests at once
    page = browser.get(f"{cluster.issuer}/authorize?" + str(httpx.QueryParams(query)))
    code = httpx.URL(page.headers["location"]).params["code"]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": RP_CALLBACK}
    tokens = httpx.post(f"{cluster.issuer}/token", data=form, auth=auth).json()
    rotated = race({"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert [r.status_code for r in rotated].count(200) == 1, [r.text for r in rotated]


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    if int(stat.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except (OSError, ValueError, IndexError):
                continue
    return found


def _metrics(management_url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """The samples of one answer of /metrics, by name and labels."""
    text = httpx.get(f"{management_url}/metrics").text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_idp_serve_with_two_workers_on_postgresql(
    postgres_url: str, start_idp_nodes: Starter[..., IdpNodes]
) -> None:
    settings = shared_store_settings(postgres_url)
    nodes = start_idp_nodes(1, settings=settings, workers=2, management=True)
    created = nodes.idp("clients", "add", "svc", "--grant", "client_credentials", "--json")
    client = json.loads(created)
    auth = (client["client_id"], client["client_secret"])
    url = nodes.urls[0]

    form = {"grant_type": "client_credentials"}
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(lambda _: httpx.post(f"{url}/token", data=form, auth=auth), range(40))
        )

    assert [a.status_code for a in answers] == [200] * 40
    # uvicorn's supervisor and its two worker processes, each serving
    assert len(_children(nodes[0].pid)) >= 2
    # the workers answer on the management port too
    management = nodes[0].management_url
    with httpx.Client() as probe:
        assert {probe.get(f"{management}/readyz").status_code for _ in range(6)} == {200}
        assert probe.get(f"{management}/healthz").json() == {"status": "up"}
    token = answers[0].json()["access_token"]
    introspected = httpx.post(f"{url}/introspect", data={"token": token}, auth=auth)
    assert introspected.json()["active"] is True

    # /metrics adds up both workers' counts, whichever of them answers
    issued = {"grant_type": "client_credentials", "client_id": client["client_id"]}
    token_2xx = {"route": "/token", "status": "2xx"}
    for _ in range(6):
        samples = _metrics(management)
        assert samples["idp_tokens_issued_total", frozenset(issued.items())] == 40
        assert samples["idp_http_requests_total", frozenset(token_2xx.items())] == 40
        assert samples["idp_token_request_duration_seconds_count", frozenset()] == 40


def test_a_pairing_code_and_a_push_answer_are_used_once_across_two_processes(
    cluster: Cluster,
) -> None:
    assert cluster.nodes is not None
    urls = cluster.nodes.urls
    rp = rp_client(provision(cluster))

    # one pairing code, offered by 20 phones at once, half to each process
    browser = Browser()
    page, _state, _verifier = log_in(rp, browser)
    page = browser.post(page.url, page, method="pocket:push", action="next")
    page = browser.post(page.url, page, action="next")
    link = re.search(r'<a href="(pocket://pair\?[^"]+)" id="pairing-link">', page.text)
    assert link, page.text
    issuer, token = parse_pairing_uri(html.unescape(link.group(1)))
    keys = [device_key.generate("ed25519") for _ in range(20)]
    clients = [httpx.Client(base_url=api_base(urls[n % 2]), timeout=30) for n in range(20)]
    for client in clients:  # connected beforehand, so that the 20 requests leave together
        client.get("/challenges")  # refused (no device token), but the connection stays
    together = threading.Barrier(20)

    def pair(n: int) -> dict[str, Any]:
        body = {
            "pairing_token": token,
            "public_key": device_key.public_part(keys[n][0]),
            "device_name": f"Phone {n}",
        }
        together.wait()
        response = clients[n].post("/pair", json=body)
        return {"status": response.status_code, **response.json()}

    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        paired = list(pool.map(pair, range(20)))
    for client in clients:
        client.close()
    winners = [n for n, result in enumerate(paired) if result["status"] == 201]
    assert len(winners) == 1, paired
    refusals = [r for n, r in enumerate(paired) if n not in winners]
    assert {r["status"] for r in refusals} <= {400, 409, 410}, refusals
    devices = cluster.nodes.idp("users", "devices", "femke")
    assert devices.count("Phone ") == 1, devices
    [winner] = winners
    result = paired[winner]
    phone = DeviceState(
        device_id=result["device_id"],
        issuer=issuer,
        base_url=api_base(urls[0]),
        account=result["account"],
        name=f"Phone {winner}",
        private_key=keys[winner][0],
        alg=keys[winner][1],
    )
    done = browser.get(
        page.url.replace("/login/", "/factors/pocket/enroll/").removesuffix("/methods") + "/pair"
    )
    browser.post(done.url, done, action="next")

    # one push, approved by 20 requests at once on both processes
    browser = Browser()
    page, _state, _verifier = log_in(rp, browser)
    number = re.search(r'id="push-number"[^>]*>(\d+)<', page.text)
    assert number, page.text
    with device_api.DeviceApi(phone) as api:
        [challenge] = api.challenges()

    apis = [device_api.DeviceApi(replace(phone, base_url=api_base(urls[n % 2]))) for n in range(20)]
    for api in apis:  # connected beforehand, so that the 20 answers leave together
        api.device()
    together = threading.Barrier(20)

    def approve(n: int) -> str | device_api.ApiError:
        together.wait()
        try:
            return apis[n].answer(challenge["id"], "approve", int(number.group(1)))
        except device_api.ApiError as refused:
            return refused

    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(approve, range(20)))
    for api in apis:
        api.client.close()
    assert answers.count("approved") == 1, answers
    refused = [a for a in answers if isinstance(a, device_api.ApiError)]
    assert len(refused) == 19 and {a.status for a in refused} == {409}, answers
