"""Fuzzing the OpenID Connect endpoints: authorization, token, introspection, revocation,
userinfo, logout, discovery and the JWKS (and paths that are none of them)."""

from __future__ import annotations

import time
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import ISSUER, RP, hidden_inputs, pkce_pair
from tests.fuzz.strategies import (
    CHARS,
    FUZZ,
    JSON_VALUE,
    METHODS,
    Good,
    as_json,
    basic,
    form,
    headers,
    json_object,
    jwts,
    requests,
)
from tests.fuzz.world import TOKEN, World


def id_tokens(world: World) -> Any:
    """Alice's ID token, or JWTs that look like ID tokens but are not ours."""
    now = int(time.time())
    claims = json_object(
        {
            "iss": st.sampled_from((ISSUER, "https://elsewhere.test")),
            "sub": st.sampled_from(("x", world.bob)),
            "aud": st.sampled_from(("rp", ["rp", "spa"], [5])),
            "exp": st.sampled_from((now + 60, now - 60, 10**30)),
            "iat": st.just(now),
        }
    )
    return st.one_of(st.just(world.id_token), jwts(claims))


CLAIM_REQUEST = json_object(
    {
        "essential": st.booleans(),
        "value": JSON_VALUE,
        "values": st.lists(st.text(CHARS, max_size=10), max_size=2),
    }
)
CLAIMS = json_object(
    {
        "userinfo": json_object({"email": CLAIM_REQUEST, "name": st.none()}),
        "id_token": json_object({"acr": CLAIM_REQUEST, "auth_time": CLAIM_REQUEST}),
    }
).map(as_json)


def authorization_requests(world: World) -> Any:
    _, challenge = pkce_pair()
    usual: dict[str, Good] = {
        "response_type": ("code",),
        "client_id": ("rp", "spa", "third", "strict"),
        "redirect_uri": (RP,),
        "scope": ("openid", "openid profile email offline_access", "openid x"),
        "state": ("st",),
        "nonce": ("n",),
        "code_challenge": (challenge,),
        "code_challenge_method": ("S256",),
    }
    optional: dict[str, Good] = {
        "prompt": ("none", "login", "consent", "select_account"),
        "max_age": ("0", "1", "600", "99999999999999999999"),
        "claims": CLAIMS,
        "acr_values": ("urn:pocket-idp:acr:mfa", "urn:pocket-idp:acr:password"),
        "ui_locales": ("nl", "en", "de nl"),
        "login_hint": ("alice",),
        "id_token_hint": id_tokens(world),
        "response_mode": ("query",),
    }
    # a browser with alice's session, or one without any
    sent = headers(cookies=(world.sso, "idp_browser=fuzz"))
    return requests(("GET", "POST"), form(usual, optional), sent)


@FUZZ
@given(data=st.data())
def test_authorization_endpoint(world: World, data: st.DataObject) -> None:
    world.fuzz("/authorize", data.draw(world.strategy("authorize", authorization_requests)))


def client_assertions(world: World) -> Any:
    now = int(time.time())
    claims = json_object(
        {
            "iss": st.sampled_from(("pkjwt", "rp")),
            "sub": st.sampled_from(("pkjwt", "rp", "ghost")),
            "aud": st.sampled_from((f"{ISSUER}/token", ISSUER, [f"{ISSUER}/token"], [5])),
            "exp": st.sampled_from((now + 60, now - 600, 10**30, "soon")),
            "iat": st.just(now),
            "nbf": st.sampled_from((now, 10**30)),
            "jti": st.uuids().map(str),
        }
    )
    return jwts(claims, key=world.client_key)


def token_requests(world: World) -> Any:
    """Requests to the token, introspection and revocation endpoints, each with one way
    of client authentication (RFC 6749 2.3, OIDC Core 9)."""
    usual: dict[str, Good] = {
        "grant_type": ("authorization_code", "refresh_token", "client_credentials"),
        "code": ("x" * 43,),
        "redirect_uri": (RP,),
        "refresh_token": (world.refresh_token,),
        "token": (world.access_token, world.refresh_token, world.jwt_access_token),
    }
    optional: dict[str, Good] = {
        "code_verifier": ("v" * 43,),
        "scope": ("openid", "profile email"),
        "token_type_hint": ("access_token", "refresh_token", "id_token"),
    }
    secrets = st.sampled_from((basic("rp", "s3cret"), basic("svc", "s3cret"), basic("rp", "x")))
    assertion_type = ("urn:ietf:params:oauth:client-assertion-type:jwt-bearer",)
    by_method = (
        ({}, headers(authorization=(secrets,))),
        ({"client_id": ("poster", "rp"), "client_secret": ("s3cret",)}, headers()),
        (
            {"client_assertion_type": assertion_type, "client_assertion": client_assertions(world)},
            headers(),
        ),
        ({"client_id": ("spa", "ghost")}, headers()),
    )
    return st.one_of(
        *(requests(("POST",), form({**usual, **auth}, optional), sent) for auth, sent in by_method)
    )


@FUZZ
@given(data=st.data(), path=st.sampled_from(("/token", "/introspect", "/revoke")))
def test_token_introspection_and_revocation(world: World, data: st.DataObject, path: str) -> None:
    world.fuzz(path, data.draw(world.strategy("token", token_requests)))


def userinfo_requests(world: World) -> Any:
    forged = jwts(json_object({"jti": st.just("x"), "scope": st.just("openid")}))
    real = st.sampled_from((world.access_token, world.jwt_access_token, world.id_token))
    tokens = st.one_of(real, forged)
    bearer = tokens.map(lambda token: f"Bearer {token}")
    sent = headers(authorization=(bearer, st.just("bearer  ")))
    return requests(("GET", "POST"), form({}, {"access_token": tokens}), sent)


@FUZZ
@given(data=st.data())
def test_userinfo(world: World, data: st.DataObject) -> None:
    world.fuzz("/userinfo", data.draw(world.strategy("userinfo", userinfo_requests)))


def logout_requests(world: World) -> Any:
    usual: dict[str, Good] = {
        "id_token_hint": id_tokens(world),
        "post_logout_redirect_uri": ("https://rp.test/bye",),
        "client_id": ("rp",),
        "state": ("st",),
    }
    sent = headers(cookies=(world.sso,))
    return requests(("GET", "POST"), form(usual, {"ui_locales": ("nl",)}), sent)


def confirm_requests(world: World) -> Any:
    fields = form({"logout_id": (TOKEN,), "action": ("logout", "stay")})
    return requests(("POST",), fields, headers(cookies=(world.sso,)))


@FUZZ
@given(data=st.data())
def test_logout(world: World, data: st.DataObject) -> None:
    if data.draw(st.booleans()):
        world.fuzz("/logout", data.draw(world.strategy("logout", logout_requests)))
        return
    # the confirmation page of alice's browser, then its form
    page = world.check(world.send("GET", "/logout", headers={"cookie": world.sso}))
    logout_id = hidden_inputs(page.text).get("logout_id", "")
    confirm = data.draw(world.strategy("confirm", confirm_requests))
    world.fuzz("/logout/confirm", confirm, token=logout_id)


def other_requests(world: World) -> Any:
    paths = ("/.well-known/openid-configuration", "/jwks", "/", "/static/x", "/demo")
    tails = ("", "/", "/..", "%00", "%ff", "/a/b")
    path = st.tuples(st.sampled_from(paths), st.sampled_from(tails)).map("".join)
    request = requests(METHODS, form({}, {"x": ("1",)}), headers(cookies=(world.sso,)))
    return st.tuples(path, request)


@FUZZ
@given(data=st.data())
def test_discovery_jwks_and_unknown_paths(world: World, data: st.DataObject) -> None:
    path, request = data.draw(world.strategy("other", other_requests))
    world.fuzz(path, request)
