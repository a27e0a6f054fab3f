"""The authorization endpoint (OIDC Core 3.1.2, RFC 6749 4.1, RFC 9207, RFC 7636)."""

from __future__ import annotations

import re

import pytest

from .helpers import (
    ISSUER,
    RP,
    Env,
    assert_error_page,
    authorize,
    authorize_error,
    code_flow,
    exchange,
    hidden_inputs,
    login,
    login_location,
    pkce_pair,
    public_client,
    query_of,
    redirect_query,
    submit_password,
)


@pytest.fixture(autouse=True)
def _registered(env: Env) -> None:
    env.add_user()
    env.add_client()


def test_happy_flow_returns_code_state_and_iss(env: Env) -> None:
    response = authorize(env, state="xyz-123")
    location = response.headers["location"]
    assert location.startswith("/login/")

    back = submit_password(env, location)

    assert back.status_code == 303
    assert back.headers["location"].split("?")[0] == RP
    query = query_of(back.headers["location"])
    assert query["state"] == "xyz-123"
    assert query["iss"] == ISSUER
    assert len(query["code"]) >= 32


def test_authorization_endpoint_accepts_post(env: Env) -> None:
    response = env.client.post(
        "/authorize",
        data={
            "response_type": "code",
            "client_id": "rp",
            "redirect_uri": RP,
            "scope": "openid",
            "state": "posted",
        },
    )
    back = submit_password(env, response.headers["location"])

    query = redirect_query(back)
    assert query["state"] == "posted"
    assert exchange(env, query["code"]).status_code == 200


def test_parameter_and_scope_order_does_not_matter(env: Env) -> None:
    response = env.client.get(
        "/authorize"
        f"?state=s1&scope=email%20profile%20openid&redirect_uri={RP}"
        "&nonce=n1&client_id=rp&response_type=code"
    )
    back = submit_password(env, response.headers["location"])

    token = exchange(env, redirect_query(back)["code"]).json()
    assert set(token["scope"].split()) == {"openid", "profile", "email"}
    assert "id_token" in token


@pytest.mark.parametrize(
    "extra",
    [
        {"display": "page"},
        {"display": "popup"},
        {"login_hint": "alice"},
        {"login_hint": "nobody@example.org"},
        {"prompt": "select_account"},
        {"ui_locales": "nl en"},
        {"claims_locales": "nl"},
        {"extra_unknown_param": "whatever"},
        {"acr_values": "urn:example:unknown"},
    ],
    ids=lambda extra: next(iter(extra)),
)
def test_optional_and_unknown_parameters_cause_no_error(env: Env, extra: dict[str, str]) -> None:
    query = login(env, **extra)

    assert query["state"] == "st4te"
    assert "error" not in query
    assert exchange(env, query["code"]).status_code == 200


def test_login_hint_fills_in_the_username(env: Env) -> None:
    page = env.client.get(login_location(env, login_hint="alice"))

    assert re.search(r'<input id="username" name="username"[^>]*value="alice"', page.text)


def test_ui_locales_picks_the_language_of_the_login_page(env: Env) -> None:
    dutch = env.client.get(login_location(env, ui_locales="nl"))
    english = env.client.get(login_location(env, ui_locales="en"))

    assert '<html lang="nl">' in dutch.text and "Wachtwoord" in dutch.text
    assert '<html lang="en">' in english.text and "Password" in english.text


# --- errors before the client and redirect URI are known: a page, never a redirect
def test_unknown_client_gets_an_error_page(env: Env) -> None:
    response = authorize(env, client_id="nobody")

    assert_error_page(response)
    assert "Unknown application" in response.text


def test_missing_client_id_gets_an_error_page(env: Env) -> None:
    response = env.client.get("/authorize", params={"response_type": "code", "redirect_uri": RP})

    assert_error_page(response)


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://evil.test/cb",
        RP + "/",
        RP + "?x=1",
        RP.upper(),
        "http://rp.test/cb",
    ],
)
def test_unregistered_redirect_uri_gets_an_error_page(env: Env, redirect_uri: str) -> None:
    response = authorize(env, redirect_uri=redirect_uri)

    assert_error_page(response)
    assert "Invalid return address" in response.text


def test_missing_redirect_uri_gets_an_error_page(env: Env) -> None:
    response = env.client.get(
        "/authorize", params={"response_type": "code", "client_id": "rp", "scope": "openid"}
    )

    assert_error_page(response)


def test_unregistered_redirect_uri_with_other_errors_still_gets_a_page(env: Env) -> None:
    response = authorize(env, redirect_uri="https://evil.test/cb", response_type="token")

    assert_error_page(response)


# --- errors after that: a redirect with the spec's code, state and iss
@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": "code id_token"}, "unsupported_response_type"),
        ({"response_type": ""}, "invalid_request"),
        ({"scope": "unknown"}, "invalid_scope"),
        ({"prompt": "sometimes"}, "invalid_request"),
        ({"prompt": "none login"}, "invalid_request"),
        ({"max_age": "soon"}, "invalid_request"),
        ({"max_age": "-1"}, "invalid_request"),
        ({"response_mode": "fragment"}, "invalid_request"),
        ({"claims": "{not json"}, "invalid_request"),
        ({"code_challenge": "x" * 43, "code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": "short", "code_challenge_method": "S256"}, "invalid_request"),
        ({"code_challenge_method": "S256"}, "invalid_request"),
        ({"id_token_hint": "not.a.token"}, "invalid_request"),
        ({"request": "eyJhbGciOiJub25lIn0.e30."}, "request_not_supported"),
        ({"request_uri": "https://rp.test/request.jwt"}, "request_uri_not_supported"),
    ],
    ids=lambda value: str(value) if isinstance(value, str) else "-".join(value),
)
def test_errors_redirect_with_code_state_and_iss(
    env: Env, params: dict[str, str], error: str
) -> None:
    query = authorize_error(env, state="keep-me", **params)

    assert query["error"] == error
    assert query["state"] == "keep-me"
    assert query["iss"] == ISSUER


#: an array nested far deeper than Python's json module can recurse
DEEP_ARRAY = "[" * 5000 + "]" * 5000


@pytest.mark.parametrize(
    "claims",
    [
        DEEP_ARRAY,
        # nested deeper than the store can write the pending login back
        '{"userinfo": {"name": {"value": ' + "[" * 300 + "]" * 300 + "}}}",
        '{"id_token": {"acr": {"values": 5}}}',
        '{"id_token": {"acr": {"values": true}}}',
        '{"id_token": {"acr": {"essential": "yes"}}}',
        '{"id_token": {"acr": {"value": []}}}',
        '{"userinfo": {"name": 1}}',
        # a lone surrogate, which no UTF-8 store can hold
        '{"userinfo": {"\\ud800": null}}',
        '{"userinfo": {"n\u00e4me\\"": 1}}',
    ],
    ids=[
        "deep-array",
        "deep-value",
        "values-5",
        "values-true",
        "essential",
        "value-array",
        "not-object",
        "surrogate",
        "odd-name",
    ],
)
def test_malformed_claims_parameter_is_invalid_request(env: Env, claims: str) -> None:
    query = authorize_error(env, state="keep-me", claims=claims)

    assert query["error"] == "invalid_request"
    assert query["state"] == "keep-me"


def test_error_redirect_without_state_has_no_state(env: Env) -> None:
    response = env.client.get(
        "/authorize",
        params={"response_type": "token", "client_id": "rp", "redirect_uri": RP},
    )

    query = redirect_query(response)
    assert query["error"] == "unsupported_response_type"
    assert "state" not in query


def test_request_object_with_its_own_redirect_uri_is_refused_to_the_registered_one(
    env: Env,
) -> None:
    # oidcc-ensure-request-object-with-redirect-uri: the redirect_uri of the request object
    # is never used; the refusal goes to the registered redirect_uri of the request
    request_object = "eyJhbGciOiJub25lIn0.eyJyZWRpcmVjdF91cmkiOiJodHRwczovL2V2aWwudGVzdCJ9."
    response = authorize(env, request=request_object)

    query = redirect_query(response, to=RP)
    assert query["error"] == "request_not_supported"


def test_repeated_parameters_are_refused(env: Env) -> None:
    response = env.client.get(
        "/authorize",
        params=[
            ("response_type", "code"),
            ("client_id", "rp"),
            ("redirect_uri", RP),
            ("scope", "openid"),
            ("nonce", "a"),
            ("nonce", "b"),
            ("state", "s"),
        ],
    )

    query = redirect_query(response)
    assert query["error"] == "invalid_request"
    assert "nonce" in query["error_description"]


#: what an error_description may hold (RFC 6749 4.1.2.1)
DESCRIPTION = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]*")


def test_a_repeated_parameter_with_an_odd_name_is_refused(env: Env) -> None:
    odd = 'n\u00e4me"\\'
    response = env.client.get(
        "/authorize",
        params=[
            ("response_type", "code"),
            ("client_id", "rp"),
            ("redirect_uri", RP),
            ("scope", "openid"),
            (odd, "a"),
            (odd, "b"),
        ],
    )

    query = redirect_query(response)
    assert query["error"] == "invalid_request"
    assert DESCRIPTION.fullmatch(query["error_description"]), query


def test_client_without_the_code_grant_is_unauthorized(env: Env) -> None:
    env.add_client("service", grant_types=("client_credentials",))

    query = authorize_error(env, client_id="service")

    assert query["error"] == "unauthorized_client"


def test_scopes_the_client_may_not_have_are_dropped(env: Env) -> None:
    token = code_flow(env, scope="openid profile phone address")

    assert token["scope"].split() == ["openid", "profile"]


def test_cancel_on_the_login_page_is_access_denied(env: Env) -> None:
    location = login_location(env)
    page = env.client.get(location)

    response = env.client.post(location, data={**hidden_inputs(page.text), "action": "cancel"})

    query = redirect_query(response)
    assert query["error"] == "access_denied"
    assert query["state"] == "st4te"
    assert query["iss"] == ISSUER


# --- PKCE at the authorization endpoint
def test_public_client_must_use_pkce(env: Env) -> None:
    public_client(env)

    query = authorize_error(env, client_id="spa")

    assert query["error"] == "invalid_request"
    assert "PKCE" in query["error_description"]


def test_public_client_plain_pkce_is_refused(env: Env) -> None:
    public_client(env)
    verifier, _ = pkce_pair()

    query = authorize_error(
        env, client_id="spa", code_challenge=verifier, code_challenge_method="plain"
    )

    assert query["error"] == "invalid_request"


def test_public_client_pkce_without_method_is_refused(env: Env) -> None:
    # RFC 7636 4.3: no method means plain, which is not advertised
    public_client(env)
    verifier, _ = pkce_pair()

    query = authorize_error(env, client_id="spa", code_challenge=verifier)

    assert query["error"] == "invalid_request"


def test_public_client_with_s256_reaches_the_login_page(env: Env) -> None:
    public_client(env)
    _, challenge = pkce_pair()

    assert login_location(
        env, client_id="spa", code_challenge=challenge, code_challenge_method="S256"
    )
