"""A live `idp serve` with a confidential relying party and a user, made through the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.live import LiveServer, live_server

PASSWORD = "correct horse battery staple"
RP_CALLBACK = "https://rp.example.test/callback"
RP_LOGGED_OUT = "https://rp.example.test/logged-out"


@dataclass
class FlowEnv:
    server: LiveServer
    client_id: str
    client_secret: str
    user: dict[str, Any]
    password: str = PASSWORD
    redirect_uri: str = RP_CALLBACK
    post_logout_redirect_uri: str = RP_LOGGED_OUT


@pytest.fixture(scope="module")
def flow_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlowEnv]:
    with live_server(tmp_path_factory.mktemp("idp-flow")) as server:
        user = server.add_user(
            "margriet",
            PASSWORD,
            name="Margriet van Dijk",
            given_name="Margriet",
            family_name="van Dijk",
            email="margriet@example.org",
            locale="nl-NL",
        )
        client = server.add_client(
            "pyoidc RP",
            redirect_uris=[RP_CALLBACK],
            post_logout_redirect_uris=[RP_LOGGED_OUT],
            grants=["authorization_code", "refresh_token"],
            scope="openid profile email offline_access",
        )
        assert client["client_secret"], client
        yield FlowEnv(server, client["client_id"], client["client_secret"], user)
