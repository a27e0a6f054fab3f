"""Client authentication at the token endpoint (RFC 6749 2.3 and 5.2, OIDC Core 9, RFC 7523)."""

from __future__ import annotations

import base64
import time
from urllib.parse import quote

import httpx
import pytest

from .helpers import (
    ISSUER,
    RP,
    Env,
    add_private_key_client,
    assertion_form,
    b64json,
    client_assertion,
    exchange,
    jwt_parts,
    login,
    token_error,
    userinfo,
)


@pytest.fixture(autouse=True)
def _registered(env: Env) -> None:
    env.add_user()
    env.add_client()


def code_form(code: str, **extra: str) -> dict[str, str]:
    return {"grant_type": "authorization_code", "code": code, "redirect_uri": RP, **extra}


def assert_invalid_client(response: httpx.Response) -> None:
    assert token_error(response, status=401) == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Basic")
    assert response.headers.get_list("content-type") == ["application/json"]
    assert response.headers.get_list("cache-control") == ["no-store"]


def test_client_secret_basic_works(env: Env) -> None:
    response = exchange(env, login(env)["code"])

    assert response.status_code == 200
    assert userinfo(env, response.json()["access_token"]).status_code == 200


def test_a_wrong_client_secret_is_401_invalid_client(env: Env) -> None:
    assert_invalid_client(exchange(env, login(env)["code"], secret="wrong"))


def test_an_unknown_client_is_401_invalid_client(env: Env) -> None:
    assert_invalid_client(exchange(env, login(env)["code"], client_id="ghost", secret="x"))


def test_no_client_authentication_is_401_invalid_client(env: Env) -> None:
    response = env.client.post("/token", data=code_form(login(env)["code"], client_id="rp"))

    assert_invalid_client(response)


def test_a_failed_authentication_does_not_use_up_the_code(env: Env) -> None:
    code = login(env)["code"]
    assert_invalid_client(exchange(env, code, secret="wrong"))

    assert exchange(env, code).status_code == 200


def test_basic_credentials_are_form_urlencoded(env: Env) -> None:
    # RFC 6749 2.3.1: client_id and secret are form-urlencoded before base64
    env.add_client("odd:client", secret="p@ss:w rd+/")
    code = login(env, client_id="odd:client")["code"]

    response = env.client.post(
        "/token",
        data=code_form(code),
        auth=(quote("odd:client", safe=""), quote("p@ss:w rd+/", safe="")),
    )

    assert response.status_code == 200, response.text


@pytest.mark.parametrize("endpoint", ["/token", "/introspect", "/revoke"])
@pytest.mark.parametrize(
    "header",
    [
        b"Basic " + base64.b64encode(b"rp:\xff\xfe"),  # not UTF-8
        b"Basic ",
        b"Basic \xe9t\xe9",  # raw latin-1 bytes
    ],
    ids=["not-utf8", "empty", "latin1"],
)
def test_a_basic_header_that_does_not_decode_is_401_invalid_client(
    env: Env, endpoint: str, header: bytes
) -> None:
    form = {"grant_type": "client_credentials", "token": "whatever"}

    response = env.client.post(endpoint, data=form, headers={"authorization": header})

    assert_invalid_client(response)


# --- client_secret_post
def test_client_secret_post_works(env: Env) -> None:
    env.add_client("poster", secret="p0st", token_endpoint_auth_method="client_secret_post")
    code = login(env, client_id="poster")["code"]

    response = env.client.post(
        "/token", data=code_form(code, client_id="poster", client_secret="p0st")
    )

    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "Bearer"


def test_client_secret_post_with_a_wrong_secret_is_401(env: Env) -> None:
    env.add_client("poster", secret="p0st", token_endpoint_auth_method="client_secret_post")
    code = login(env, client_id="poster")["code"]

    response = env.client.post(
        "/token", data=code_form(code, client_id="poster", client_secret="nope")
    )

    assert_invalid_client(response)


def test_only_the_registered_method_is_accepted(env: Env) -> None:
    env.add_client("poster", secret="p0st", token_endpoint_auth_method="client_secret_post")
    basic_code = login(env, client_id="poster")["code"]
    post_code = login(env)["code"]

    as_basic = exchange(env, basic_code, client_id="poster", secret="p0st")
    as_post = env.client.post(
        "/token", data=code_form(post_code, client_id="rp", client_secret="s3cret")
    )

    assert_invalid_client(as_basic)
    assert_invalid_client(as_post)


# --- private_key_jwt
def pkjwt_exchange(env: Env, assertion: str, client_id: str = "pkjwt") -> httpx.Response:
    code = login(env, client_id=client_id)["code"]
    return env.client.post("/token", data={**code_form(code), **assertion_form(assertion)})


@pytest.mark.parametrize("kty", ["RSA", "EC"])
def test_private_key_jwt_works(env: Env, kty: str) -> None:
    key = add_private_key_client(env, kty=kty)

    response = pkjwt_exchange(env, client_assertion(key))

    assert response.status_code == 200, response.text
    assert response.json()["id_token"]


def test_every_advertised_assertion_algorithm_is_accepted(env: Env) -> None:
    doc = env.client.get("/.well-known/openid-configuration").json()
    rsa = add_private_key_client(env)
    ec = add_private_key_client(env, client_id="pkjwt-ec", kty="EC")

    for alg in doc["token_endpoint_auth_signing_alg_values_supported"]:
        key, client_id = (ec, "pkjwt-ec") if alg.startswith("ES") else (rsa, "pkjwt")
        assertion = client_assertion(key, client_id=client_id, alg=alg)
        response = pkjwt_exchange(env, assertion, client_id=client_id)
        assert response.status_code == 200, (alg, response.text)


def test_an_assertion_with_alg_none_is_refused(env: Env) -> None:
    key = add_private_key_client(env)
    claims = jwt_parts(client_assertion(key))[1]

    unsigned = f"{b64json({'alg': 'none'})}.{b64json(claims)}."

    assert_invalid_client(pkjwt_exchange(env, unsigned))


def test_private_key_jwt_accepts_the_issuer_as_audience(env: Env) -> None:
    key = add_private_key_client(env)

    response = pkjwt_exchange(env, client_assertion(key, audience=ISSUER))

    assert response.status_code == 200


def test_a_client_assertion_is_single_use(env: Env) -> None:
    key = add_private_key_client(env)
    assertion = client_assertion(key)
    assert pkjwt_exchange(env, assertion).status_code == 200

    assert_invalid_client(pkjwt_exchange(env, assertion))


def test_a_client_assertion_signed_by_another_key_is_refused(env: Env) -> None:
    add_private_key_client(env)
    stranger = add_private_key_client(env, client_id="stranger")

    forged = client_assertion(stranger, client_id="pkjwt")

    assert_invalid_client(pkjwt_exchange(env, forged))


@pytest.mark.parametrize(
    "overrides",
    [
        {"aud": "https://elsewhere.test/token"},
        {"exp": int(time.time()) - 600},
        {"iss": "someone-else"},
        {"jti": None},
    ],
    ids=["audience", "expired", "issuer", "no-jti"],
)
def test_a_bad_client_assertion_is_refused(env: Env, overrides: dict[str, object]) -> None:
    key = add_private_key_client(env)
    assertion = client_assertion(key, **overrides)

    assert_invalid_client(pkjwt_exchange(env, assertion))


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.mark.parametrize("case", ["deep-claims", "crit-not-names", "odd-alg", "lone-surrogate-jti"])
def test_a_malformed_client_assertion_is_401_invalid_client(env: Env, case: str) -> None:
    key = add_private_key_client(env)
    header, payload, signature = client_assertion(key).split(".")
    deep = b'{"sub": "pkjwt", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    odd_alg = b64json({"alg": "RS256\u00e9"})
    assertions = {
        # the claims are read before the signature is checked, to find the client
        "deep-claims": f"{header}.{_b64(deep)}.{signature}",
        "crit-not-names": f"{b64json({'alg': 'RS256', 'crit': [5]})}.{payload}.{signature}",
        # quoted in joserfc's description, which an error_description cannot hold
        "odd-alg": f"{odd_alg}.{payload}.{signature}",
        # a valid signature over a jti that the store cannot keep
        "lone-surrogate-jti": client_assertion(key, jti="\ud800"),
    }

    assert_invalid_client(pkjwt_exchange(env, assertions[case]))


def test_an_assertion_naming_a_client_without_keys_is_401_invalid_client(env: Env) -> None:
    key = add_private_key_client(env)
    # "rp" authenticates with a secret and has no keys
    assertion = client_assertion(key, client_id="rp")

    assert_invalid_client(pkjwt_exchange(env, assertion, client_id="rp"))


def test_a_private_key_jwt_client_cannot_use_a_secret(env: Env) -> None:
    add_private_key_client(env)
    code = login(env, client_id="pkjwt")["code"]

    response = exchange(env, code, client_id="pkjwt", secret="")

    assert_invalid_client(response)


def test_two_authentication_methods_at_once_are_refused(env: Env) -> None:
    env.add_client("both", grant_types=("client_credentials",))
    response = env.client.post(
        "/token",
        data={"grant_type": "client_credentials", "client_id": "both", "client_secret": "s3cret"},
        auth=("both", "s3cret"),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
