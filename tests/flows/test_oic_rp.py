"""A whole OpenID Connect login by an independent relying party library (pyoidc) against
the real server: discovery, code flow with PKCE, the password and the second factor
(setting up an authenticator app in the Pocket wizard, then codes and a recovery code),
ID token validation against the JWKS with its amr and acr, userinfo, refresh and
RP-initiated logout; and a client registered with `--mfa optional`, where the password
alone is enough."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
import requests
from jwkest import BadSignature
from oic import rndstr
from oic.oic import Client
from oic.oic.message import (
    AccessTokenResponse,
    AuthorizationRequest,
    AuthorizationResponse,
    EndSessionRequest,
    IdToken,
    OpenIDSchema,
    RegistrationResponse,
    TokenErrorResponse,
)
from oic.utils.authn.client import CLIENT_AUTHN_METHOD

from tests.flows.forms import Browser, Page, password_step

pytestmark = pytest.mark.flow

SCOPE = "openid profile email offline_access"
ACR_MFA = "urn:pocket-idp:acr:mfa"
ACR_PASSWORD = "urn:pocket-idp:acr:password"
POCKET = "/factors/pocket"


@dataclass
class Authorization:
    """An authorization request made by pyoidc, and what the RP keeps to finish it."""

    url: str
    state: str
    nonce: str
    code_verifier: str
    request_args: dict[str, Any]


@dataclass
class Enrolled:
    """What the person took from the wizard: the app's secret, the code that confirmed
    it and the recovery codes."""

    secret: str
    confirming_code: str
    recovery_codes: list[str]
    arrival: Page


def registered_client(issuer: str, client_id: str, secret: str, redirect_uri: str) -> Client:
    """pyoidc after discovery, with the static registration made through the CLI."""
    client = Client(client_authn_method=CLIENT_AUTHN_METHOD)
    client.provider_config(issuer)
    client.store_registration_info(
        RegistrationResponse(
            client_id=client_id,
            client_secret=secret,
            redirect_uris=[redirect_uri],
            token_endpoint_auth_method="client_secret_basic",
            response_types=["code"],
        )
    )
    client.redirect_uris = [redirect_uri]
    return client


def authorization(
    client: Client, redirect_uri: str, scope: str = SCOPE, **extra: str
) -> Authorization:
    """Code flow with PKCE S256, state and nonce."""
    state, nonce = rndstr(24), rndstr(24)
    pkce_args, code_verifier = client.add_code_challenge()
    assert pkce_args["code_challenge_method"] == "S256"
    request_args = {
        "response_type": "code",
        "scope": scope,
        "state": state,
        "nonce": nonce,
        "redirect_uri": redirect_uri,
        **pkce_args,
        **extra,
    }
    auth_req = client.construct_AuthorizationRequest(request_args=request_args)
    assert isinstance(auth_req, AuthorizationRequest)
    client.state2nonce[state] = nonce  # what pyoidc checks the ID token's nonce against
    return Authorization(
        auth_req.request(client.authorization_endpoint), state, nonce, code_verifier, request_args
    )


def code_at_rp(client: Client, arrival: Page, auth: Authorization, redirect_uri: str) -> str:
    """The RP's callback: pyoidc parses the authorization response; returns the code."""
    assert arrival.away and arrival.url.startswith(redirect_uri + "?"), arrival.describe()
    auth_resp = client.parse_response(AuthorizationResponse, info=arrival.url, sformat="urlencoded")
    assert isinstance(auth_resp, AuthorizationResponse), auth_resp.to_dict()
    assert auth_resp["state"] == auth.state
    assert auth_resp["iss"] == client.provider_info["issuer"]  # RFC 9207
    assert auth_resp["code"]
    code: str = auth_resp["code"]
    return code


def tokens(client: Client, code: str, auth: Authorization, redirect_uri: str) -> Any:
    """Code exchange with the PKCE verifier; pyoidc validates the ID token."""
    token_resp = client.do_access_token_request(
        state=auth.state,
        request_args={
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": auth.code_verifier,
        },
        authn_method="client_secret_basic",
    )
    assert isinstance(token_resp, AccessTokenResponse), token_resp.to_dict()
    assert isinstance(token_resp["id_token"], IdToken)  # signature, iss, aud, exp, iat
    assert token_resp["id_token"]["nonce"] == auth.nonce
    return token_resp


def assert_two_factors(id_token: IdToken) -> None:
    assert {"pwd", "otp", "mfa"} <= set(id_token["amr"]), id_token.to_dict()
    assert id_token["acr"] == ACR_MFA, id_token.to_dict()


# --- the Pocket pages, as a person sees them
def enroll_with_authenticator_app(browser: Browser, page: Page) -> Enrolled:
    """The wizard after the password: choose the app, type in the key shown, confirm a
    code, keep the recovery codes, and go on to the relying party."""
    # step 2: the method; whichever is preselected, the person picks the app
    assert page.status == 200 and page.path.endswith("/methods"), page.describe()
    choose = page.form
    assert "pocket:totp" in choose.choices.get("method", []), choose.all_choices
    assert {("action", "stop"), ("action", "next")} <= set(choose.buttons)
    page = browser.submit(page, ("action", "next"), method="pocket:totp")

    # step 3: the QR code and the same key as text in groups of four
    assert page.status == 200 and page.path.endswith("/app"), page.describe()
    assert re.search(r'<div class="qr" id="totp-qr"><svg [^>]*viewBox=', page.html)
    grouped = page.text("totp-secret")
    assert re.fullmatch(r"[A-Z2-7]{4}( [A-Z2-7]{4})*", grouped), grouped
    secret = grouped.replace(" ", "")
    assert len(secret) == 32  # 160 bits
    assert page.form.text_inputs == {"code"}
    assert {("action", "stop"), ("action", "back"), ("action", "next")} <= set(page.form.buttons)
    code = pyotp.TOTP(secret).now()  # what the app shows right now
    page = browser.submit(page, ("action", "next"), code=code)

    # step 4: done; the recovery codes are shown once, then on to the relying party
    assert page.status == 200 and page.path.endswith("/done"), page.describe()
    recovery_codes = page.items.get("recovery-codes", [])
    assert len(recovery_codes) == 10, page.describe()
    assert all(re.fullmatch(r"[a-z2-9]{5}-[a-z2-9]{5}", c) for c in recovery_codes)
    assert len(set(recovery_codes)) == 10
    assert page.form.buttons == [("action", "next")]
    assert page.text("done-continue") == "Continue to pyoidc RP"
    arrival = browser.submit(page, ("action", "next"))
    return Enrolled(secret, code, recovery_codes, arrival)


def assert_code_page(page: Page, status: int = 200) -> None:
    """The second step of an enrolled user: one field for a code, not the wizard."""
    assert page.status == status and page.path.startswith(f"{POCKET}/verify/"), page.describe()
    assert page.form.text_inputs == {"code"}
    assert not page.form.choices, page.form.all_choices
    assert {("action", "stop"), ("action", "next")} <= set(page.form.buttons)


def enter_code(browser: Browser, page: Page, code: str) -> Page:
    assert_code_page(page, page.status)
    return browser.submit(page, ("action", "next"), code=code)


def assert_refused(page: Page) -> None:
    """The code page again, with an error and nothing given to the relying party."""
    assert_code_page(page, 400)
    assert page.alerts and all(page.alerts), page.describe()


def test_pyoidc_login_with_a_second_factor_refresh_userinfo_and_logout(flow_env):
    """The client requires a second factor: the first login sets up the authenticator
    app in the wizard, later logins ask for a code or take a recovery code once."""
    issuer = flow_env.server.issuer
    user = flow_env.user
    redirect_uri = flow_env.redirect_uri

    # --- discovery and static registration
    client = Client(client_authn_method=CLIENT_AUTHN_METHOD)
    provider_info = client.provider_config(issuer)
    assert provider_info["issuer"] == issuer
    assert client.authorization_endpoint == f"{issuer}/authorize"
    assert client.end_session_endpoint == f"{issuer}/logout"
    assert "S256" in provider_info["code_challenge_methods_supported"]
    assert {ACR_PASSWORD, ACR_MFA} <= set(provider_info["acr_values_supported"])
    assert client.keyjar.get_issuer_keys(issuer), "the JWKS was not loaded"
    client.store_registration_info(
        RegistrationResponse(
            client_id=flow_env.client_id,
            client_secret=flow_env.client_secret,
            redirect_uris=[redirect_uri],
            post_logout_redirect_uris=[flow_env.post_logout_redirect_uri],
            token_endpoint_auth_method="client_secret_basic",
            response_types=["code"],
        )
    )
    client.redirect_uris = [redirect_uri]

    # --- authorization request: code flow, PKCE S256, state and nonce
    auth = authorization(client, redirect_uri)

    # --- the person logs in with the password, then sets up the authenticator app
    browser = Browser(issuer)
    page = browser.open(auth.url)
    assert page.path.startswith("/login/"), page.describe()
    page = password_step(browser, page, user["username"], flow_env.password)
    assert not page.away, "the password alone must not be enough for this client"
    enrolled = enroll_with_authenticator_app(browser, page)
    auth_code = code_at_rp(client, enrolled.arrival, auth, redirect_uri)

    # --- code exchange with the PKCE verifier; pyoidc validates the ID token
    token_resp = tokens(client, auth_code, auth, redirect_uri)
    id_token = token_resp["id_token"]
    assert id_token["iss"] == issuer
    assert flow_env.client_id in id_token["aud"]
    assert id_token["nonce"] == auth.nonce
    assert id_token["sub"] == user["sub"]
    assert_two_factors(id_token)
    assert id_token.jws_header["alg"] == "RS256"
    assert id_token.jws_header["kid"] in {key.kid for key in client.keyjar.get_issuer_keys(issuer)}
    assert token_resp["token_type"].lower() == "bearer"
    assert token_resp["refresh_token"], "offline_access should give a refresh token"
    first_access_token = token_resp["access_token"]

    # the validation is real: the same token with a forged signature is refused
    head, body, _signature = token_resp["id_token_jwt"].split(".")
    forged = json.dumps(
        {"access_token": "x", "token_type": "Bearer", "id_token": f"{head}.{body}.AAAA"}
    )
    with pytest.raises(BadSignature):
        client.parse_response(AccessTokenResponse, info=forged, sformat="json", state="forged")

    # --- userinfo with the access token
    info = client.do_user_info_request(state=auth.state)
    assert isinstance(info, OpenIDSchema), info.to_dict()
    assert info["sub"] == user["sub"]
    assert info["name"] == "Margriet van Dijk"
    assert info["given_name"] == "Margriet"
    assert info["family_name"] == "van Dijk"
    assert info["email"] == "margriet@example.org"
    assert info["email_verified"] is True

    # --- refresh: a new access token that works at userinfo too
    refreshed = client.do_access_token_refresh(state=auth.state, authn_method="client_secret_basic")
    assert isinstance(refreshed, AccessTokenResponse), refreshed.to_dict()
    assert refreshed["access_token"] != first_access_token
    assert refreshed["refresh_token"] != token_resp["refresh_token"]  # rotated
    # a new ID token for the same authentication (OpenID Connect Core 12.2)
    assert refreshed["id_token"]["sub"] == user["sub"]
    assert refreshed["id_token"]["iss"] == issuer
    assert refreshed["id_token"]["auth_time"] == id_token["auth_time"]
    assert refreshed["id_token"].get("nonce") in (None, auth.nonce)
    assert_two_factors(refreshed["id_token"])
    again = client.do_user_info_request(access_token=refreshed["access_token"])
    assert again["sub"] == user["sub"]

    # --- RP-initiated logout with id_token_hint, post_logout_redirect_uri and state
    logout_state = rndstr(16)
    end_req = client.construct_EndSessionRequest(
        state=auth.state,
        request_args={
            "id_token_hint": token_resp["id_token_jwt"],
            "post_logout_redirect_uri": flow_env.post_logout_redirect_uri,
            "state": logout_state,
        },
    )
    assert isinstance(end_req, EndSessionRequest)
    logout = browser.open(end_req.request(client.end_session_endpoint))
    assert logout.away, logout.describe()
    back = urlsplit(logout.url)
    assert f"{back.scheme}://{back.netloc}{back.path}" == flow_env.post_logout_redirect_uri
    assert parse_qs(back.query) == {"state": [logout_state]}

    # the single sign-on session is gone: prompt=none now answers login_required
    silent = authorization(client, redirect_uri, prompt="none")
    answer = browser.open(silent.url)
    assert answer.away, answer.describe()
    query = parse_qs(urlsplit(answer.url).query)
    assert query["error"] == ["login_required"]
    assert query["state"] == [silent.state]

    # --- a code is good once only, and using it again revokes what it gave
    replay = requests.post(
        client.token_endpoint,
        data={
            "grant_type": "authorization_code",
            "code": auth_code,
            "redirect_uri": redirect_uri,
            "code_verifier": auth.code_verifier,
        },
        auth=(flow_env.client_id, flow_env.client_secret),
        timeout=10,
    )
    assert replay.status_code == 400, replay.text
    assert replay.json()["error"] == "invalid_grant"
    revoked = requests.get(
        client.userinfo_endpoint,
        headers={"Authorization": f"Bearer {refreshed['access_token']}"},
        timeout=10,
    )
    assert revoked.status_code == 401, revoked.text

    # --- the next login (after the logout) asks for the password and then a code
    second = authorization(client, redirect_uri)
    page = browser.open(second.url)
    assert page.path.startswith("/login/"), page.describe()
    page = password_step(browser, page, user["username"], flow_env.password)
    assert_code_page(page)
    # the code that confirmed the app is used up ...
    page = enter_code(browser, page, enrolled.confirming_code)
    assert_refused(page)
    # ... the app's next code (one step ahead, within the allowed skew) is accepted
    page = enter_code(browser, page, pyotp.TOTP(enrolled.secret).at(time.time() + 30))
    second_tokens = tokens(
        client, code_at_rp(client, page, second, redirect_uri), second, redirect_uri
    )
    assert second_tokens["id_token"]["sub"] == user["sub"]
    assert_two_factors(second_tokens["id_token"])
    assert second_tokens["id_token"]["auth_time"] >= id_token["auth_time"]

    # --- prompt=login: the password again, and a recovery code in place of a code
    recovery_code = enrolled.recovery_codes[3]
    third = authorization(client, redirect_uri, prompt="login")
    page = password_step(browser, browser.open(third.url), user["username"], flow_env.password)
    page = enter_code(browser, page, recovery_code)
    third_tokens = tokens(
        client, code_at_rp(client, page, third, redirect_uri), third, redirect_uri
    )
    assert third_tokens["id_token"]["sub"] == user["sub"]
    assert_two_factors(third_tokens["id_token"])

    # the recovery code works once only; stopping ends the login at the relying party
    fourth = authorization(client, redirect_uri, prompt="login")
    page = password_step(browser, browser.open(fourth.url), user["username"], flow_env.password)
    page = enter_code(browser, page, recovery_code)
    assert_refused(page)
    stopped = browser.submit(page, ("action", "stop"))
    assert stopped.away and stopped.url.startswith(redirect_uri + "?"), stopped.describe()
    query = parse_qs(urlsplit(stopped.url).query)
    assert query["error"] == ["access_denied"]
    assert query["state"] == [fourth.state]


def test_a_client_with_mfa_optional_completes_with_the_password_alone(flow_env):
    issuer = flow_env.server.issuer
    user = flow_env.user
    redirect_uri = flow_env.optional_redirect_uri
    client = registered_client(
        issuer, flow_env.optional_client_id, flow_env.optional_client_secret, redirect_uri
    )
    auth = authorization(client, redirect_uri, scope="openid profile email")
    browser = Browser(issuer)
    page = browser.open(auth.url)
    assert page.path.startswith("/login/"), page.describe()
    arrival = password_step(browser, page, user["username"], flow_env.password)
    token_resp = tokens(client, code_at_rp(client, arrival, auth, redirect_uri), auth, redirect_uri)
    id_token = token_resp["id_token"]
    assert id_token["sub"] == user["sub"]
    assert flow_env.optional_client_id in id_token["aud"]
    assert id_token["amr"] == ["pwd"]
    assert id_token["acr"] == ACR_PASSWORD
    assert "refresh_token" not in token_resp  # neither offline_access nor the grant
    info = client.do_user_info_request(state=auth.state)
    assert isinstance(info, OpenIDSchema), info.to_dict()
    assert info["sub"] == user["sub"]
    assert info["email"] == "margriet@example.org"


def test_pyoidc_code_exchange_with_the_wrong_pkce_verifier_is_refused(flow_env):
    # the password-only client, so that this does not depend on the second factor
    issuer = flow_env.server.issuer
    redirect_uri = flow_env.optional_redirect_uri
    client = registered_client(
        issuer, flow_env.optional_client_id, flow_env.optional_client_secret, redirect_uri
    )
    auth = authorization(client, redirect_uri, scope="openid")
    _other_args, other_verifier = client.add_code_challenge()
    browser = Browser(issuer)
    arrival = password_step(
        browser, browser.open(auth.url), flow_env.user["username"], flow_env.password
    )
    code = code_at_rp(client, arrival, auth, redirect_uri)
    answer = client.do_access_token_request(
        state=auth.state,
        request_args={
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": other_verifier,
        },
        authn_method="client_secret_basic",
    )
    assert isinstance(answer, TokenErrorResponse), answer.to_dict()
    assert answer["error"] == "invalid_grant"
