"""An independent relying party library (pyoidc) logs a person in through a Pocket push
approval on the real server.

The first login pairs a phone through the device API (the pairing code read from the
wizard's page, as the phone's camera would); the next one sends a push, which the
phone approves with the reference client library while the browser's page waits on
its long-poll. The ID token pyoidc validates says how: amr ["pwd", "swk", "mfa"].
"""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
import requests
from oic import rndstr
from oic.oic import Client
from oic.oic.message import AccessTokenResponse, AuthorizationResponse, RegistrationResponse
from oic.utils.authn.client import CLIENT_AUTHN_METHOD

from plugins.pocket_mfa.client import device_api, device_key
from plugins.pocket_mfa.client.state import DeviceState
from plugins.pocket_mfa.push.protocol import api_base, parse_pairing_uri
from tests.live import LiveServer, live_server

pytestmark = pytest.mark.flow

PASSWORD = "appeltaart met slagroom"
RP_CALLBACK = "https://rp.example.test/callback"
SCOPE = "openid profile email"
ACR_MFA = "urn:pocket-idp:acr:mfa"


@dataclass
class PushFlowEnv:
    server: LiveServer
    client_id: str
    client_secret: str


@pytest.fixture(scope="module")
def push_flow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PushFlowEnv]:
    with live_server(tmp_path_factory.mktemp("idp-flow-push")) as server:
        yield provision(server)


def provision(server: LiveServer) -> PushFlowEnv:
    """The person and the relying party of the push flow, through the `idp` command."""
    server.add_user("femke", PASSWORD, name="Femke de Vries", email="femke@example.org")
    client = server.add_client(
        "pyoidc RP with push",
        redirect_uris=[RP_CALLBACK],
        grants=["authorization_code"],
        scope=SCOPE,
        mfa="required",
    )
    return PushFlowEnv(server, client["client_id"], client["client_secret"])


class Browser:
    """requests with the browser's cookies; stops where the relying party begins."""

    def __init__(self) -> None:
        self.session = requests.Session()

    def follow(self, response: requests.Response) -> requests.Response:
        for _hop in range(10):
            if not response.is_redirect:
                return response
            location = urljoin(response.url, response.headers["location"])
            if location.startswith(RP_CALLBACK):
                return response
            response = self.session.get(location, allow_redirects=False)
        raise AssertionError("too many redirects")

    def get(self, url: str) -> requests.Response:
        return self.follow(self.session.get(url, allow_redirects=False))

    def post(self, url: str, page: requests.Response, **fields: str) -> requests.Response:
        hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
        data = {k: html.unescape(v) for k, v in hidden.items()} | fields
        return self.follow(self.session.post(url, data=data, allow_redirects=False))


def path_of(response: requests.Response) -> str:
    return urlsplit(response.url).path


def rp_client(env: PushFlowEnv) -> Client:
    client = Client(client_authn_method=CLIENT_AUTHN_METHOD)
    client.provider_config(env.server.issuer)
    client.store_registration_info(
        RegistrationResponse(
            client_id=env.client_id,
            client_secret=env.client_secret,
            redirect_uris=[RP_CALLBACK],
            token_endpoint_auth_method="client_secret_basic",
            response_types=["code"],
        )
    )
    client.redirect_uris = [RP_CALLBACK]
    return client


def log_in(client: Client, browser: Browser) -> tuple[requests.Response, str, str]:
    """The authorization request and the password step; returns the factor page."""
    state, nonce = rndstr(24), rndstr(24)
    pkce, verifier = client.add_code_challenge()
    request = client.construct_AuthorizationRequest(
        request_args={
            "response_type": "code",
            "scope": SCOPE,
            "state": state,
            "nonce": nonce,
            "redirect_uri": RP_CALLBACK,
            **pkce,
        }
    )
    client.state2nonce[state] = nonce
    page = browser.get(request.request(client.authorization_endpoint))
    assert path_of(page).startswith("/login/"), page.url
    page = browser.post(page.url, page, username="femke", password=PASSWORD, action="login")
    return page, state, verifier


def id_token_at_rp(
    client: Client, arrival: requests.Response, state: str, verifier: str
) -> dict[str, Any]:
    assert arrival.is_redirect, (arrival.status_code, arrival.text[:1000])
    location = arrival.headers["location"]
    assert location.startswith(RP_CALLBACK), location
    response = client.parse_response(
        AuthorizationResponse, info=urlsplit(location).query, sformat="urlencoded"
    )
    assert isinstance(response, AuthorizationResponse) and response["state"] == state
    tokens = client.do_access_token_request(
        state=state,
        request_args={
            "code": response["code"],
            "redirect_uri": RP_CALLBACK,
            "code_verifier": verifier,
        },
        authn_method="client_secret_basic",
    )
    assert isinstance(tokens, AccessTokenResponse), tokens.to_dict()
    claims: dict[str, Any] = tokens["id_token"].to_dict()
    return claims


def pair_phone(browser: Browser, page: requests.Response) -> DeviceState:
    """The wizard with Pocket: the phone pairs through the device API."""
    assert re.search(r'value="pocket:push"\s+checked', page.text), page.text
    page = browser.post(page.url, page, method="pocket:push", action="next")
    assert path_of(page).endswith("/install"), page.url
    page = browser.post(page.url, page, action="next")
    assert path_of(page).endswith("/pair"), page.url
    link = re.search(r'<a href="(pocket://pair\?[^"]+)" id="pairing-link">', page.text)
    assert link, page.text
    issuer, token = parse_pairing_uri(html.unescape(link.group(1)))
    private_key, alg = device_key.generate("ed25519")
    base_url = api_base(issuer)
    paired = device_api.pair(base_url, token, device_key.public_part(private_key), "Pixel 9")
    return DeviceState(
        device_id=paired["device_id"],
        issuer=paired["issuer"],
        base_url=base_url,
        account=paired["account"],
        name="Pixel 9",
        private_key=private_key,
        alg=alg,
    )


def test_pyoidc_login_through_a_push_approval(push_flow: PushFlowEnv) -> None:
    client = rp_client(push_flow)

    # --- the first login enrolls: the phone pairs, the page moves on to "done"
    browser = Browser()
    page, state, verifier = log_in(client, browser)
    assert page.url.endswith("/methods"), page.url
    phone = pair_phone(browser, page)
    assert phone.account == "femke"
    # the wizard's page notices the pairing (its script long-polls; here it is loaded again)
    done = browser.get(
        page.url.replace("/login/", "/factors/pocket/enroll/").removesuffix("/methods") + "/pair"
    )
    assert path_of(done).endswith("/done"), done.url
    assert 'id="done-continue">Continue to pyoidc RP with push</button>' in done.text
    arrival = browser.post(done.url, done, action="next")
    claims = id_token_at_rp(client, arrival, state, verifier)
    assert claims["amr"] == ["pwd", "swk", "mfa"] and claims["acr"] == ACR_MFA

    # --- a later login in a new browser: a push; the phone approves while the page waits
    browser = Browser()
    page, state, verifier = log_in(client, browser)
    assert re.search(r"/factors/pocket/push/[^/]+$", page.url), page.url
    assert "pyoidc RP with push" in page.text
    number = re.search(r'id="push-number"[^>]*>(\d+)<', page.text)
    assert number, page.text
    wait_url = re.search(r'data-pocket-wait="([^"]+)"', page.text)
    assert wait_url
    with device_api.DeviceApi(phone) as api:
        [challenge] = api.challenges()
        assert challenge["client_name"] == "pyoidc RP with push"
        assert int(number.group(1)) in challenge["numbers"]
        answers: list[str] = []
        approve = threading.Timer(
            0.2,
            lambda: answers.append(api.answer(challenge["id"], "approve", int(number.group(1)))),
        )
        approve.start()
        waited = browser.session.get(urljoin(page.url, wait_url.group(1)), timeout=30)
        approve.join(10)
    assert answers == ["approved"]
    assert waited.json() == {"done": True, "next": urlsplit(page.url).path}
    arrival = browser.session.get(page.url, allow_redirects=False)
    claims = id_token_at_rp(client, arrival, state, verifier)
    assert claims["amr"] == ["pwd", "swk", "mfa"], claims
    assert claims["acr"] == ACR_MFA

    # --- a deny in the next login gives the relying party nothing
    browser = Browser()
    page, state, verifier = log_in(client, browser)
    with device_api.DeviceApi(phone) as api:
        [challenge] = api.challenges()
        assert api.answer(challenge["id"], "deny") == "denied"
    denied = browser.session.get(page.url, allow_redirects=False)
    assert denied.status_code == 200 and 'data-state="denied"' in denied.text
