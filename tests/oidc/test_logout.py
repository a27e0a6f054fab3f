"""RP-Initiated Logout 1.0: the end_session endpoint at /logout."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from jwcrypto import jwk, jws
from jwcrypto.common import json_encode

from .helpers import (
    ISSUER,
    Env,
    assert_error_page,
    authorize_error,
    b64json,
    code_flow,
    hidden_inputs,
    jwt_parts,
    query_of,
    session_cookie,
)

BYE = "https://rp.test/bye"
BYE_WITH_QUERY = "https://rp.test/bye?from=rp"


@pytest.fixture
def id_token(env: Env) -> str:
    """Alice logged in at the relying party; the ID token it received."""
    env.add_user()
    env.add_client(post_logout_redirect_uris=(BYE, BYE_WITH_QUERY))
    env.add_client("other", secret="0ther")
    token = str(code_flow(env)["id_token"])
    assert session_cookie(env)
    return token


@pytest.fixture
def jwt_access_token(env: Env, id_token: str) -> str:
    """A JWT access token (RFC 9068) for alice, from a client registered for them."""
    env.add_client("api", secret="4pi", access_token_format="jwt", post_logout_redirect_uris=(BYE,))
    token = str(code_flow(env, client_id="api", secret="4pi")["access_token"])
    assert jwt_parts(token)[0]["typ"] == "at+jwt"
    return token


def still_logged_in(env: Env) -> bool:
    query = query_of(env.client.get("/authorize", params=_silent()).headers["location"])
    return "code" in query


def _silent() -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": "rp",
        "redirect_uri": "https://rp.test/cb",
        "scope": "openid",
        "prompt": "none",
    }


def test_discovery_advertises_the_end_session_endpoint(env: Env) -> None:
    doc = env.client.get("/.well-known/openid-configuration").json()

    assert doc["end_session_endpoint"] == f"{ISSUER}/logout"


def test_logout_with_hint_redirect_uri_and_state(env: Env, id_token: str) -> None:
    response = env.client.get(
        "/logout",
        params={"id_token_hint": id_token, "post_logout_redirect_uri": BYE, "state": "s-1"},
    )

    assert response.status_code in (302, 303)
    assert response.headers["location"] == f"{BYE}?state=s-1"
    assert session_cookie(env) is None
    assert not still_logged_in(env)


def test_logout_ends_the_session_on_the_server_too(env: Env, id_token: str) -> None:
    cookie = session_cookie(env)
    env.client.get("/logout", params={"id_token_hint": id_token})

    env.client.cookies.set(env.settings.session.cookie_name, cookie or "", domain="idp.test")
    assert authorize_error(env, **{**_silent(), "state": "x"})["error"] == "login_required"


def test_logout_by_post(env: Env, id_token: str) -> None:
    response = env.client.post(
        "/logout",
        data={"id_token_hint": id_token, "post_logout_redirect_uri": BYE, "state": "p"},
    )

    assert response.headers["location"] == f"{BYE}?state=p"
    assert not still_logged_in(env)


def test_logout_without_state_redirects_without_state(env: Env, id_token: str) -> None:
    response = env.client.get(
        "/logout", params={"id_token_hint": id_token, "post_logout_redirect_uri": BYE}
    )

    assert response.headers["location"] == BYE
    assert not still_logged_in(env)


def test_logout_without_redirect_uri_shows_the_logged_out_page(env: Env, id_token: str) -> None:
    response = env.client.get("/logout", params={"id_token_hint": id_token, "state": "s"})

    assert response.status_code == 200
    assert "You are logged out" in response.text
    assert "location" not in response.headers
    assert not still_logged_in(env)


def test_a_registered_redirect_uri_keeps_its_query(env: Env, id_token: str) -> None:
    response = env.client.get(
        "/logout",
        params={
            "id_token_hint": id_token,
            "post_logout_redirect_uri": BYE_WITH_QUERY,
            "state": "q",
        },
    )

    assert response.headers["location"].startswith("https://rp.test/bye?")
    assert query_of(response.headers["location"]) == {"from": "rp", "state": "q"}


@pytest.mark.parametrize(
    "uri",
    [
        "https://evil.test/bye",
        BYE + "?added=1",
        BYE + "/",
        "https://rp.test/cb",  # a login redirect URI is not a logout one
    ],
)
def test_an_unregistered_redirect_uri_gets_an_error_page(env: Env, id_token: str, uri: str) -> None:
    response = env.client.get(
        "/logout", params={"id_token_hint": id_token, "post_logout_redirect_uri": uri}
    )

    assert_error_page(response)
    assert still_logged_in(env)


def test_a_redirect_uri_of_another_client_is_refused(env: Env, id_token: str) -> None:
    response = env.client.get(
        "/logout",
        params={"id_token_hint": id_token, "client_id": "other", "post_logout_redirect_uri": BYE},
    )

    assert_error_page(response)
    assert still_logged_in(env)


def test_a_modified_id_token_hint_gets_an_error_page(env: Env, id_token: str) -> None:
    header, _, signature = id_token.split(".")
    claims = {**jwt_parts(id_token)[1], "sub": "someone-else"}
    tampered = f"{header}.{b64json(claims)}.{signature}"

    response = env.client.get(
        "/logout", params={"id_token_hint": tampered, "post_logout_redirect_uri": BYE}
    )

    assert_error_page(response)
    assert still_logged_in(env)


@pytest.mark.parametrize("hint", ["garbage", "a.b.c", "eyJhbGciOiJub25lIn0.e30."])
def test_a_bad_id_token_hint_gets_an_error_page(env: Env, id_token: str, hint: str) -> None:
    response = env.client.get("/logout", params={"id_token_hint": hint})

    assert_error_page(response)
    assert still_logged_in(env)


def test_a_redirect_uri_without_hint_or_client_id_is_not_followed(env: Env, id_token: str) -> None:
    response = env.client.get("/logout", params={"post_logout_redirect_uri": BYE})

    assert_error_page(response)


def test_without_a_hint_the_user_is_asked_first(env: Env, id_token: str) -> None:
    response = env.client.get(
        "/logout", params={"client_id": "rp", "post_logout_redirect_uri": BYE, "state": "ask"}
    )

    assert response.status_code == 200
    assert 'action="/logout/confirm"' in response.text
    assert still_logged_in(env)

    confirmed = env.client.post(
        "/logout/confirm", data={**hidden_inputs(response.text), "action": "logout"}
    )

    assert confirmed.headers["location"] == f"{BYE}?state=ask"
    assert not still_logged_in(env)


def test_answering_stay_keeps_the_session(env: Env, id_token: str) -> None:
    page = env.client.get("/logout")

    answer = env.client.post("/logout/confirm", data={**hidden_inputs(page.text), "action": "stay"})

    assert answer.status_code == 200
    assert "You are still logged in" in answer.text
    assert still_logged_in(env)


def test_the_confirmation_is_single_use(env: Env, id_token: str) -> None:
    page = env.client.get("/logout")
    fields = hidden_inputs(page.text)
    env.client.post("/logout/confirm", data={**fields, "action": "stay"})

    again = env.client.post("/logout/confirm", data={**fields, "action": "logout"})

    assert again.status_code == 400
    assert still_logged_in(env)


def test_the_confirmation_is_bound_to_the_browser(env: Env, id_token: str) -> None:
    page = env.client.get("/logout")
    fields = hidden_inputs(page.text)
    cookies = dict(env.client.cookies)
    env.client.cookies.clear()

    forged = env.client.post("/logout/confirm", data={**fields, "action": "logout"})

    assert forged.status_code == 400
    for name, value in cookies.items():
        env.client.cookies.set(name, value, domain="idp.test")
    assert still_logged_in(env)


def test_no_parameters_while_logged_in_asks(env: Env, id_token: str) -> None:
    response = env.client.get("/logout")

    assert response.status_code == 200
    assert "logout_id" in hidden_inputs(response.text)
    assert still_logged_in(env)


def test_no_parameters_while_logged_out_shows_the_logged_out_page(env: Env) -> None:
    response = env.client.get("/logout")

    assert response.status_code == 200
    assert "You are logged out" in response.text


def test_a_hint_for_another_user_asks_first(env: Env, id_token: str) -> None:
    env.add_user("bob")
    env.client.cookies.clear()
    code_flow(env, username="bob")  # bob is logged in now in this browser

    response = env.client.get(
        "/logout", params={"id_token_hint": id_token, "post_logout_redirect_uri": BYE}
    )

    assert response.status_code == 200
    assert 'action="/logout/confirm"' in response.text
    assert still_logged_in(env)


def test_an_expired_id_token_hint_is_accepted(env: Env, id_token: str) -> None:
    # the hint is often an old ID token (RP-Initiated Logout 1.0, section 2)
    claims = jwt_parts(id_token)[1]
    expired = env.provider.keys.sign({**claims, "iat": 1, "exp": 2})

    response = env.client.get(
        "/logout", params={"id_token_hint": expired, "post_logout_redirect_uri": BYE}
    )

    assert response.headers["location"] == BYE
    assert not still_logged_in(env)


def test_an_already_logged_out_user_is_still_sent_back(env: Env, id_token: str) -> None:
    params = {"id_token_hint": id_token, "post_logout_redirect_uri": BYE, "state": "twice"}
    env.client.get("/logout", params=params)

    again = env.client.get("/logout", params=params)

    assert again.headers["location"] == f"{BYE}?state=twice"


def test_state_alone_never_redirects(env: Env, id_token: str) -> None:
    response = env.client.get("/logout", params={"state": "only"})

    assert response.status_code == 200
    assert "location" not in response.headers
    confirmed = env.client.post(
        "/logout/confirm", data={**hidden_inputs(response.text), "action": "logout"}
    )
    assert confirmed.status_code == 200
    assert "You are logged out" in confirmed.text
    assert not still_logged_in(env)


@pytest.mark.parametrize("redirect", [{}, {"post_logout_redirect_uri": BYE, "state": "s"}])
def test_a_jwt_access_token_is_no_id_token_hint(
    env: Env, jwt_access_token: str, redirect: dict[str, str]
) -> None:
    response = env.client.get("/logout", params={"id_token_hint": jwt_access_token, **redirect})

    assert_error_page(response)
    assert session_cookie(env)
    assert still_logged_in(env)


def _signed_by_us(env: Env, id_token: str, typ: str, change: Callable[[dict], dict]) -> str:
    claims: dict[str, Any] = change(dict(jwt_parts(id_token)[1]))
    return str(env.provider.keys.sign(claims, typ=typ))


def _same(claims: dict) -> dict:
    return claims


def _without(name: str) -> Callable[[dict], dict]:
    return lambda claims: {k: v for k, v in claims.items() if k != name}


@pytest.mark.parametrize(
    ("typ", "change"),
    [
        pytest.param("at+jwt", _same, id="typ-at+jwt"),
        pytest.param("application/at+jwt", _same, id="typ-application/at+jwt"),
        pytest.param("JWS", _same, id="typ-JWS"),
        pytest.param(
            "JWT", lambda c: {**c, "client_id": c["aud"], "scope": "openid"}, id="access-claims"
        ),
        pytest.param("JWT", lambda c: {**c, "scope": "openid"}, id="scope"),
        pytest.param("JWT", _without("aud"), id="no-aud"),
        pytest.param("JWT", _without("iat"), id="no-iat"),
        pytest.param("JWT", lambda c: {**c, "aud": []}, id="empty-aud"),
    ],
)
def test_only_an_id_token_is_taken_as_hint(
    env: Env, id_token: str, typ: str, change: Callable[[dict], dict]
) -> None:
    hint = _signed_by_us(env, id_token, typ, change)

    response = env.client.get("/logout", params={"id_token_hint": hint})

    assert_error_page(response)
    assert still_logged_in(env)


@pytest.mark.parametrize("typ", ["JWT", "jwt", "application/jwt"])
def test_an_id_token_hint_of_type_jwt_logs_out_at_once(env: Env, id_token: str, typ: str) -> None:
    hint = _signed_by_us(env, id_token, typ, _same)

    response = env.client.get("/logout", params={"id_token_hint": hint})

    assert "You are logged out" in response.text
    assert not still_logged_in(env)


def test_an_id_token_hint_without_typ_logs_out_at_once(env: Env, id_token: str) -> None:
    header, claims = jwt_parts(id_token)
    [key] = [k for k in env.store.list_keys() if k.kid == header["kid"]]
    token = jws.JWS(json_encode(claims).encode())
    protected = {"alg": header["alg"], "kid": header["kid"]}  # typ is optional (RFC 7515)
    token.add_signature(jwk.JWK.from_json(key.private_jwk), protected=json_encode(protected))

    response = env.client.get("/logout", params={"id_token_hint": token.serialize(compact=True)})

    assert "You are logged out" in response.text
    assert not still_logged_in(env)
