"""A whole OpenID Connect login by an independent relying party library (pyoidc) against
the real server: discovery, code flow with PKCE, ID token validation against the JWKS,
userinfo, refresh and RP-initiated logout."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

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

pytestmark = pytest.mark.flow

SCOPE = "openid profile email offline_access"


class _Form(HTMLParser):
    """The first form of a page: its action and the inputs a browser would send."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self.buttons: list[tuple[str, str]] = []
        self._inside = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and self.action is None:
            self.action = a.get("action", "")
            self._inside = True
        elif self._inside and tag == "input" and a.get("name"):
            self.fields[a["name"]] = a.get("value", "")
        elif self._inside and tag == "button" and a.get("name"):
            self.buttons.append((a["name"], a.get("value", "")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._inside = False


def log_in(browser: requests.Session, url: str, stop_at: str, username: str, password: str) -> str:
    """Follow redirects as a browser would, fill the login form, and return the first
    Location that leaves the provider for `stop_at` (the relying party)."""
    response = browser.get(url, allow_redirects=False)
    for _hop in range(10):
        if response.is_redirect:
            location = urljoin(response.url, response.headers["location"])
            if location.startswith(stop_at):
                return location
            response = browser.get(location, allow_redirects=False)
            continue
        assert response.status_code == 200, (response.status_code, response.text[:2000])
        form = _Form()
        form.feed(response.text)
        assert form.action is not None, f"no form at {response.url}:\n{response.text[:2000]}"
        assert "username" in form.fields and "password" in form.fields, form.fields
        assert ("action", "login") in form.buttons, form.buttons
        data = {**form.fields, "username": username, "password": password, "action": "login"}
        response = browser.post(
            urljoin(response.url, form.action), data=data, allow_redirects=False
        )
    raise AssertionError("too many redirects")


def test_pyoidc_code_flow_refresh_userinfo_and_logout(flow_env):
    issuer = flow_env.server.issuer
    user = flow_env.user

    # --- discovery and static registration
    client = Client(client_authn_method=CLIENT_AUTHN_METHOD)
    provider_info = client.provider_config(issuer)
    assert provider_info["issuer"] == issuer
    assert client.authorization_endpoint == f"{issuer}/authorize"
    assert client.end_session_endpoint == f"{issuer}/logout"
    assert "S256" in provider_info["code_challenge_methods_supported"]
    assert client.keyjar.get_issuer_keys(issuer), "the JWKS was not loaded"
    client.store_registration_info(
        RegistrationResponse(
            client_id=flow_env.client_id,
            client_secret=flow_env.client_secret,
            redirect_uris=[flow_env.redirect_uri],
            post_logout_redirect_uris=[flow_env.post_logout_redirect_uri],
            token_endpoint_auth_method="client_secret_basic",
            response_types=["code"],
        )
    )
    client.redirect_uris = [flow_env.redirect_uri]

    # --- authorization request: code flow, PKCE S256, state and nonce
    state, nonce = rndstr(24), rndstr(24)
    pkce_args, code_verifier = client.add_code_challenge()
    assert pkce_args["code_challenge_method"] == "S256"
    request_args = {
        "response_type": "code",
        "scope": SCOPE,
        "state": state,
        "nonce": nonce,
        "redirect_uri": flow_env.redirect_uri,
        **pkce_args,
    }
    auth_req = client.construct_AuthorizationRequest(request_args=request_args)
    assert isinstance(auth_req, AuthorizationRequest)
    client.state2nonce[state] = nonce  # what pyoidc checks the ID token's nonce against
    auth_url = auth_req.request(client.authorization_endpoint)

    # --- the person logs in; the provider sends the browser back with a code
    browser = requests.Session()
    location = log_in(browser, auth_url, flow_env.redirect_uri, user["username"], flow_env.password)
    auth_resp = client.parse_response(AuthorizationResponse, info=location, sformat="urlencoded")
    assert isinstance(auth_resp, AuthorizationResponse)
    assert auth_resp["state"] == state
    assert auth_resp["iss"] == issuer  # RFC 9207
    assert auth_resp["code"]

    # --- code exchange with the PKCE verifier; pyoidc validates the ID token
    token_resp = client.do_access_token_request(
        state=state,
        request_args={
            "code": auth_resp["code"],
            "redirect_uri": flow_env.redirect_uri,
            "code_verifier": code_verifier,
        },
        authn_method="client_secret_basic",
    )
    assert isinstance(token_resp, AccessTokenResponse), token_resp.to_dict()
    id_token = token_resp["id_token"]
    assert isinstance(id_token, IdToken)  # signature, iss, aud, exp and iat checked
    assert id_token["iss"] == issuer
    assert flow_env.client_id in id_token["aud"]
    assert id_token["nonce"] == nonce
    assert id_token["sub"] == user["sub"]
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
    info = client.do_user_info_request(state=state)
    assert isinstance(info, OpenIDSchema), info.to_dict()
    assert info["sub"] == user["sub"]
    assert info["name"] == "Margriet van Dijk"
    assert info["given_name"] == "Margriet"
    assert info["family_name"] == "van Dijk"
    assert info["email"] == "margriet@example.org"
    assert info["email_verified"] is True

    # --- refresh: a new access token that works at userinfo too
    refreshed = client.do_access_token_refresh(state=state, authn_method="client_secret_basic")
    assert isinstance(refreshed, AccessTokenResponse), refreshed.to_dict()
    assert refreshed["access_token"] != first_access_token
    assert refreshed["refresh_token"] != token_resp["refresh_token"]  # rotated
    # a new ID token for the same authentication (OpenID Connect Core 12.2)
    assert refreshed["id_token"]["sub"] == user["sub"]
    assert refreshed["id_token"]["iss"] == issuer
    assert refreshed["id_token"]["auth_time"] == id_token["auth_time"]
    assert refreshed["id_token"].get("nonce") in (None, nonce)
    again = client.do_user_info_request(access_token=refreshed["access_token"])
    assert again["sub"] == user["sub"]

    # --- RP-initiated logout with id_token_hint, post_logout_redirect_uri and state
    logout_state = rndstr(16)
    end_req = client.construct_EndSessionRequest(
        state=state,
        request_args={
            "id_token_hint": token_resp["id_token_jwt"],
            "post_logout_redirect_uri": flow_env.post_logout_redirect_uri,
            "state": logout_state,
        },
    )
    assert isinstance(end_req, EndSessionRequest)
    logout = browser.get(end_req.request(client.end_session_endpoint), allow_redirects=False)
    assert logout.is_redirect, (logout.status_code, logout.text[:2000])
    back = urlsplit(logout.headers["location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == flow_env.post_logout_redirect_uri
    assert parse_qs(back.query) == {"state": [logout_state]}

    # the single sign-on session is gone: prompt=none now answers login_required
    silent_state = rndstr(16)
    silent = client.construct_AuthorizationRequest(
        request_args={**request_args, "state": silent_state, "prompt": "none"}
    )
    answer = browser.get(silent.request(client.authorization_endpoint), allow_redirects=False)
    assert answer.is_redirect, (answer.status_code, answer.text[:2000])
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    assert query["error"] == ["login_required"]
    assert query["state"] == [silent_state]

    # --- a code is good once only, and using it again revokes what it gave
    replay = requests.post(
        client.token_endpoint,
        data={
            "grant_type": "authorization_code",
            "code": auth_resp["code"],
            "redirect_uri": flow_env.redirect_uri,
            "code_verifier": code_verifier,
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


def test_pyoidc_code_exchange_with_the_wrong_pkce_verifier_is_refused(flow_env):
    issuer = flow_env.server.issuer
    client = Client(client_authn_method=CLIENT_AUTHN_METHOD)
    client.provider_config(issuer)
    client.store_registration_info(
        RegistrationResponse(
            client_id=flow_env.client_id,
            client_secret=flow_env.client_secret,
            redirect_uris=[flow_env.redirect_uri],
            token_endpoint_auth_method="client_secret_basic",
        )
    )
    client.redirect_uris = [flow_env.redirect_uri]
    state = rndstr(24)
    pkce_args, _verifier = client.add_code_challenge()
    _other_args, other_verifier = client.add_code_challenge()
    auth_req = client.construct_AuthorizationRequest(
        request_args={
            "response_type": "code",
            "scope": "openid",
            "state": state,
            "nonce": rndstr(24),
            "redirect_uri": flow_env.redirect_uri,
            **pkce_args,
        }
    )
    location = log_in(
        requests.Session(),
        auth_req.request(client.authorization_endpoint),
        flow_env.redirect_uri,
        flow_env.user["username"],
        flow_env.password,
    )
    auth_resp = client.parse_response(AuthorizationResponse, info=location, sformat="urlencoded")
    answer = client.do_access_token_request(
        state=state,
        request_args={
            "code": auth_resp["code"],
            "redirect_uri": flow_env.redirect_uri,
            "code_verifier": other_verifier,
        },
        authn_method="client_secret_basic",
    )
    assert isinstance(answer, TokenErrorResponse), answer.to_dict()
    assert answer["error"] == "invalid_grant"
