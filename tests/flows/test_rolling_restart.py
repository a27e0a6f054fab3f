"""A rolling restart of two `idp serve` nodes behind HAProxy while machine clients keep
asking for tokens through it.

Each node in turn is told to stop (SIGTERM) and has exited by itself, is started again,
and is seen healthy by HAProxy (/readyz on its management port) before the next one
goes. Meanwhile a few clients ask for client_credentials tokens without pause. Every
request is answered: with a token, or with a clean 503 (OAuth's JSON, Retry-After);
never a broken connection, another 5xx or a wait without end. A node that is told to
stop answers what it has begun (uvicorn's graceful shutdown) and stops accepting, and
HAProxy sends again what reached a connection that closed unanswered. Afterwards every
token that was issued is active at /introspect: nothing issued was lost.
"""

from __future__ import annotations

import concurrent.futures
import json
import signal
import threading
import time
from dataclasses import dataclass, field

import httpx
import pytest

from tests.servers.cluster import Cluster, start_cluster
from tests.servers.fixtures import Starter
from tests.servers.haproxy import HaproxyServer
from tests.servers.idp_nodes import IdpNodes

pytestmark = pytest.mark.flow

CLIENTS = 3
#: each client's pause between its requests: enough of them to meet every shutdown, few
#: enough to introspect each token afterwards in a few seconds
PAUSE = 0.02
#: no request may take longer than this (a hang)
REQUEST_TIMEOUT = 10.0
#: how long HAProxy may take to see a node's new state
STATE_TIMEOUT = 10.0


@pytest.fixture
def cluster(
    postgres_url: str,
    start_idp_nodes: Starter[..., IdpNodes],
    start_haproxy: Starter[..., HaproxyServer],
) -> Cluster:
    return start_cluster(postgres_url, start_idp_nodes, start_haproxy)


@dataclass
class Answers:
    """What the clients got, by kind."""

    tokens: list[str] = field(default_factory=list)
    unavailable: int = 0
    wrong: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, answer: httpx.Response | Exception) -> None:
        with self.lock:
            if isinstance(answer, Exception):
                self.wrong.append(f"{type(answer).__name__}: {answer}")
            elif answer.status_code == 200:
                self.tokens.append(answer.json()["access_token"])
            elif clean_503(answer):
                self.unavailable += 1
            else:
                self.wrong.append(f"{answer.status_code} {answer.text[:200]}")


def clean_503(answer: httpx.Response) -> bool:
    try:
        body = json.loads(answer.content)
    except ValueError:
        return False
    return (
        answer.status_code == 503
        and body.get("error") == "temporarily_unavailable"
        and answer.headers.get("retry-after", "").isdigit()
    )


def ask_for_tokens(
    url: str, auth: tuple[str, str], answers: Answers, stop: threading.Event
) -> None:
    """One client: token requests on a keep-alive connection until `stop`."""
    with httpx.Client(base_url=url, auth=auth, timeout=REQUEST_TIMEOUT) as client:
        while not stop.is_set():
            try:
                answer: httpx.Response | Exception = client.post(
                    "/token", data={"grant_type": "client_credentials"}
                )
            except httpx.HTTPError as exc:
                answer = exc
            answers.add(answer)
            time.sleep(PAUSE)


def wait_for_tokens(answers: Answers, count: int) -> None:
    """Until `count` more tokens have been issued."""
    wanted = len(answers.tokens) + count
    deadline = time.monotonic() + STATE_TIMEOUT
    while len(answers.tokens) < wanted:
        assert time.monotonic() < deadline, answers.wrong[:5]
        time.sleep(0.01)


def wait_for_state(proxy: HaproxyServer, index: int, state: str) -> None:
    deadline = time.monotonic() + STATE_TIMEOUT
    while proxy.backend_states()[index] != state:
        assert time.monotonic() < deadline, (index, state, proxy.backend_states())
        time.sleep(0.02)


def test_a_rolling_restart_answers_every_token_request_and_loses_no_token(
    cluster: Cluster,
) -> None:
    assert cluster.nodes is not None and cluster.proxy is not None
    nodes, proxy = cluster.nodes, cluster.proxy
    created = json.loads(
        nodes.idp("clients", "add", "svc", "--grant", "client_credentials", "--json")
    )
    auth = (created["client_id"], created["client_secret"])
    answers, stop = Answers(), threading.Event()

    with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
        clients = [
            pool.submit(ask_for_tokens, cluster.url, auth, answers, stop) for _ in range(CLIENTS)
        ]
        try:
            for index in range(len(nodes)):
                wait_for_tokens(answers, 20)  # under load
                node = nodes[index]
                nodes.stop_node(index)  # SIGTERM; returns once it has exited
                # by itself: uvicorn raises the signal again once it has shut down (a
                # node that had to be killed would say -SIGKILL)
                assert node.process is not None, node.name
                assert node.process.returncode == -signal.SIGTERM, node.log()
                wait_for_state(proxy, index, "DOWN")
                nodes.start_node(index)
                wait_for_state(proxy, index, "UP")
            wait_for_tokens(answers, 20)
        finally:
            stop.set()
        for finished in clients:
            finished.result(timeout=REQUEST_TIMEOUT * 2)

    assert not answers.wrong, answers.wrong[:10]
    assert len(answers.tokens) > 50, answers
    assert len(set(answers.tokens)) == len(answers.tokens)
    assert not any(token.count(".") == 2 for token in answers.tokens)  # opaque, not JWTs

    # every token issued is known to the store, whichever node issued it
    def inactive(tokens: list[str]) -> list[str]:
        with httpx.Client(base_url=cluster.url, auth=auth) as client:
            answered = [client.post("/introspect", data={"token": t}) for t in tokens]
        return [
            token
            for token, answer in zip(tokens, answered, strict=True)
            if answer.json().get("active") is not True
        ]

    shares = [answers.tokens[n::CLIENTS] for n in range(CLIENTS)]
    with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
        lost = [token for found in pool.map(inactive, shares) for token in found]
    assert not lost, f"{len(lost)} of {len(answers.tokens)} tokens are not active"
