"""Discovery 1.0 section 3 and 4, and the JWKS (oidcc-discovery-endpoint-verification)."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from idp.app import create_app
from tests.conftest import make_settings

from .helpers import ISSUER, Env

DISCOVERY = "/.well-known/openid-configuration"
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "k"}


def metadata(env: Env) -> dict:
    response = env.client.get(DISCOVERY)
    assert response.status_code == 200
    return response.json()


def test_discovery_is_json_and_issuer_equals_the_url_it_was_fetched_under(env: Env) -> None:
    response = env.client.get(DISCOVERY)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert str(response.url) == ISSUER + DISCOVERY
    assert response.json()["issuer"] == ISSUER


def test_required_metadata_is_present_and_typed(env: Env) -> None:
    doc = metadata(env)

    for name in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri"):
        assert isinstance(doc[name], str) and doc[name], name
    for name in (
        "response_types_supported",
        "subject_types_supported",
        "id_token_signing_alg_values_supported",
        "scopes_supported",
        "claims_supported",
        "grant_types_supported",
        "token_endpoint_auth_methods_supported",
    ):
        assert isinstance(doc[name], list) and all(isinstance(v, str) for v in doc[name]), name
    assert doc["response_types_supported"] == ["code"]
    assert "openid" in doc["scopes_supported"]
    assert doc["id_token_signing_alg_values_supported"][0] == "RS256"
    assert {"ES256", "none"} <= set(doc["id_token_signing_alg_values_supported"])
    assert "public" in doc["subject_types_supported"]
    assert {"authorization_code", "refresh_token", "client_credentials"} <= set(
        doc["grant_types_supported"]
    )
    assert {"client_secret_basic", "client_secret_post", "private_key_jwt", "none"} <= set(
        doc["token_endpoint_auth_methods_supported"]
    )
    assert {"sub", "iss", "aud", "name", "email"} <= set(doc["claims_supported"])


def test_every_endpoint_is_https_under_the_issuer(env: Env) -> None:
    doc = metadata(env)
    urls = {k: v for k, v in doc.items() if k.endswith("_endpoint") or k == "jwks_uri"}

    assert {"userinfo_endpoint", "end_session_endpoint", "revocation_endpoint"} <= set(urls)
    assert {"introspection_endpoint", "authorization_endpoint", "token_endpoint"} <= set(urls)
    for name, url in urls.items():
        assert url.startswith(ISSUER + "/"), (name, url)
        assert url.startswith("https://"), (name, url)


def test_advertised_endpoints_are_served(env: Env) -> None:
    doc = metadata(env)

    def path(name: str) -> str:
        return doc[name].removeprefix(ISSUER)

    assert env.client.get(path("jwks_uri")).status_code == 200
    for name in ("token_endpoint", "revocation_endpoint", "introspection_endpoint"):
        response = env.client.post(path(name), data={})
        assert response.status_code in (400, 401), name
        assert "error" in response.json(), name
    assert env.client.get(path("userinfo_endpoint")).status_code == 401
    assert env.client.get(path("authorization_endpoint")).status_code == 400
    assert env.client.get(path("end_session_endpoint")).status_code == 200


def test_protocol_choices_are_advertised(env: Env) -> None:
    doc = metadata(env)

    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["request_parameter_supported"] is False
    assert doc["request_uri_parameter_supported"] is False
    assert doc["claims_parameter_supported"] is True
    assert doc["authorization_response_iss_parameter_supported"] is True
    assert {"none", "login", "consent"} <= set(doc["prompt_values_supported"])
    assert "offline_access" in doc["scopes_supported"]


def test_jwks_serves_public_keys_only_with_distinct_kids(env: Env) -> None:
    response = env.client.get("/jwks")

    assert response.status_code == 200
    keys = response.json()["keys"]
    kids = [k["kid"] for k in keys]
    assert len(kids) == len(set(kids))
    for key in keys:
        assert not PRIVATE_MEMBERS & set(key), key
        assert key["use"] == "sig"
    algs = {(k["kty"], k["alg"]) for k in keys}
    assert ("RSA", "RS256") in algs
    assert ("EC", "ES256") in algs
    rsa = next(k for k in keys if k["alg"] == "RS256")
    assert rsa["e"] and len(rsa["n"]) >= 342  # 2048 bits, base64url


def test_keys_are_generated_on_first_start_and_persisted(tmp_path: Path, env: Env) -> None:
    first = {k["kid"] for k in env.client.get("/jwks").json()["keys"]}

    settings = make_settings(tmp_path)  # the same sqlite file as `env`
    with TestClient(create_app(settings), base_url=ISSUER) as restarted:
        second = {k["kid"] for k in restarted.get("/jwks").json()["keys"]}

    assert len(first) == 2
    assert second == first
