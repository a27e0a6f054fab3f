"""A live `idp serve` with confidential relying parties and a user, made through the CLI.

The server runs with the shipped configuration, where a second factor is mandatory
(`[factors] required = true`) unless a client is registered with `--mfa optional`:
one relying party requires it (the CLI's default) and one is registered as optional.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.live import LiveServer, live_server

PASSWORD = "correct horse battery staple"
RP_CALLBACK = "https://rp.example.test/callback"
RP_LOGGED_OUT = "https://rp.example.test/logged-out"
PASSWORD_ONLY_CALLBACK = "https://password-only.example.test/callback"


@dataclass
class FlowEnv:
    server: LiveServer
    #: registered with `--mfa required`
    client_id: str
    client_secret: str
    #: registered with `--mfa optional`
    optional_client_id: str
    optional_client_secret: str
    user: dict[str, Any]
    password: str = PASSWORD
    redirect_uri: str = RP_CALLBACK
    post_logout_redirect_uri: str = RP_LOGGED_OUT
    optional_redirect_uri: str = PASSWORD_ONLY_CALLBACK


@pytest.fixture(scope="module")
def flow_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlowEnv]:
    # the shipped policy, whatever the environment of the test run says
    settings = {"IDP_FACTORS_ENABLED": "pocket", "IDP_FACTORS_REQUIRED": "true"}
    with live_server(tmp_path_factory.mktemp("idp-flow"), settings=settings) as server:
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
            mfa="required",
        )
        assert client["client_secret"], client
        optional = server.add_client(
            "pyoidc RP, password only",
            redirect_uris=[PASSWORD_ONLY_CALLBACK],
            grants=["authorization_code"],
            scope="openid profile email",
            mfa="optional",
        )
        assert optional["client_secret"], optional
        policies = {
            c["client_id"]: c["mfa"] for c in json.loads(server.idp("clients", "list", "--json"))
        }
        assert policies[client["client_id"]] == "required", policies
        assert policies[optional["client_id"]] == "optional", policies
        yield FlowEnv(
            server,
            client["client_id"],
            client["client_secret"],
            optional["client_id"],
            optional["client_secret"],
            user,
        )
