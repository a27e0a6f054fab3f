"""A rate limit holds across processes: two `idp serve` on one PostgreSQL share each
client's count."""

from __future__ import annotations

import httpx
import pytest

from tests.servers.fixtures import Starter
from tests.servers.idp_nodes import IdpNodes, shared_store_settings

pytestmark = pytest.mark.flow

LIMIT = 3


def test_a_clients_token_requests_count_on_every_process(
    postgres_url: str, start_idp_nodes: Starter[..., IdpNodes]
) -> None:
    nodes = start_idp_nodes(
        2,
        settings=shared_store_settings(
            postgres_url, IDP_RATE_LIMITS_TOKEN=str(LIMIT), IDP_RATE_LIMITS_WINDOW="86400"
        ),
    )
    first, second = nodes.urls
    form = {"grant_type": "client_credentials"}

    def token(url: str, client_id: str) -> httpx.Response:
        return httpx.post(f"{url}/token", data=form, auth=(client_id, "wrong"))

    assert [token(first, "svc").status_code for _ in range(LIMIT)] == [401] * LIMIT
    refused = token(second, "svc")
    assert refused.status_code == 429, refused.text
    assert int(refused.headers["retry-after"]) >= 1
    assert token(second, "other").status_code == 401
