"""docker-compose.yml as an operator uses it: the stack comes up (the schema made by
its one-shot service first), HAProxy finds both nodes ready by their /readyz, the first
user and client are made with the commands the README gives, and a person logs in
through HAProxy with the code flow, setting up an authenticator app on the way; pyoidc,
an independent relying party library, checks the ID token against the JWKS."""

from __future__ import annotations

import json
import re
import time

import pytest
import requests

from tests.deploy.conftest import Stack
from tests.flows.forms import Browser, password_step
from tests.flows.test_oic_rp import (
    ACR_MFA,
    authorization,
    code_at_rp,
    enroll_with_authenticator_app,
    registered_client,
    tokens,
)

pytestmark = pytest.mark.docker

PASSWORD = "stroopwafels bij de koffie"
RP_CALLBACK = "https://rp.example.test/callback"
#: how long HAProxy may take to log the first check of each node once the stack answers
CHECKED_TIMEOUT = 30.0


def test_haproxy_checks_each_node_by_its_readyz(compose_stack: Stack) -> None:
    """HAProxy (deploy/haproxy.cfg) asks each node's /readyz on the node's management
    port, and logs the first answer: 200, so both nodes are UP. Only the management
    port serves /readyz: through HAProxy, on the IdP's own port, it is not found."""
    nodes = {"idp1", "idp2"}
    deadline = time.monotonic() + CHECKED_TIMEOUT
    while True:
        log = compose_stack.proxy_log()
        passed = {
            node
            for node in nodes
            if re.search(
                rf"Health check for server idp/{node} succeeded, "
                r"reason: Layer7 check passed, code: 200, .*status: \d+/\d+ UP",
                log,
            )
        }
        if passed == nodes:
            break
        assert time.monotonic() < deadline, f"HAProxy did not find {nodes - passed} ready:\n{log}"
        time.sleep(0.5)
    assert requests.get(f"{compose_stack.issuer}/readyz", timeout=10).status_code == 404


def test_a_person_logs_in_through_haproxy_to_the_compose_stack(compose_stack: Stack) -> None:
    stack = compose_stack
    added = stack.idp(
        "idp1",
        "users",
        "add",
        "sanne",
        "--name",
        "Sanne Bakker",
        "--email",
        "sanne@example.org",
        "--email-verified",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert "added user sanne" in added and "PostgreSQL" in added, added
    output = stack.idp(
        "idp1",
        "clients",
        "add",
        "pyoidc RP",
        "--redirect-uri",
        RP_CALLBACK,
        "--first-party",
        "--json",
    )
    client_info = json.loads(output.strip().splitlines()[-1])

    # discovery, the JWKS and the login, all through HAProxy
    client = registered_client(
        stack.issuer, client_info["client_id"], client_info["client_secret"], RP_CALLBACK
    )
    assert client.provider_info["issuer"] == stack.issuer
    auth = authorization(client, RP_CALLBACK)
    browser = Browser(stack.issuer)
    page = browser.open(auth.url)
    page = password_step(browser, page, "sanne", PASSWORD)
    enrolled = enroll_with_authenticator_app(browser, page)
    code = code_at_rp(client, enrolled.arrival, auth, RP_CALLBACK)
    token_response = tokens(client, code, auth, RP_CALLBACK)
    id_token = token_response["id_token"]
    assert id_token["iss"] == stack.issuer
    assert id_token["acr"] == ACR_MFA and "otp" in id_token["amr"], id_token.to_dict()

    userinfo = requests.get(
        f"{stack.issuer}/userinfo",
        headers={"Authorization": f"Bearer {token_response['access_token']}"},
        timeout=10,
    )
    assert userinfo.status_code == 200, userinfo.text
    assert userinfo.json()["sub"] == id_token["sub"]
    assert userinfo.json()["email"] == "sanne@example.org"
