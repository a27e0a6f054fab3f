"""Discovery 1.0 section 3 and 4, and the JWKS (oidcc-discovery-endpoint-verification)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from idp.app import create_app
from idp.cli import main as idp_command
from tests.conftest import RP, make_settings

from .helpers import ISSUER, Env, code_flow, jwt_parts, verify_jwt

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
    assert "ES256" in doc["id_token_signing_alg_values_supported"]
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


def _register_with_id_token_alg(
    env: Env, tmp_path: Path, capsys: pytest.CaptureFixture[str], alg: str
) -> str | None:
    """`idp clients add --id-token-alg ALG` on the provider's store: the client's secret,
    or None if the command refuses the algorithm."""
    config = tmp_path / "cli.toml"
    config.write_text(f'[store]\npath = "{env.settings.store.path}"\n')
    args = ["--config", str(config), "clients", "add", f"RP {alg}", "--client-id", f"rp-{alg}"]
    args += ["--redirect-uri", RP, "--first-party", "--id-token-alg", alg, "--json"]
    try:
        status = idp_command(args)
    except SystemExit as refused:  # argparse refuses a choice it does not offer
        status = refused.code
    output = capsys.readouterr().out
    if status != 0:
        return None
    secret: str = json.loads(output)["client_secret"]
    return secret


def test_advertised_id_token_algs_are_those_registration_accepts_and_the_server_signs_with(
    env: Env, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env.add_user()
    advertised = metadata(env)["id_token_signing_alg_values_supported"]
    candidates = [*advertised, "none", "HS256", "RS512", "PS256", "ES384", "EdDSA"]

    registered = {}
    for alg in dict.fromkeys(candidates):
        secret = _register_with_id_token_alg(env, tmp_path, capsys, alg)
        if secret is not None:
            registered[alg] = secret

    assert sorted(registered) == sorted(advertised)
    for alg, secret in registered.items():
        id_token = code_flow(env, client_id=f"rp-{alg}", secret=secret)["id_token"]
        assert jwt_parts(id_token)[0]["alg"] == alg
        assert verify_jwt(env, id_token)["aud"] == f"rp-{alg}"
