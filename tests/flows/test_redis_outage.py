"""The Redis cache killed with SIGKILL (it keeps nothing on disk) under an IdP on
PostgreSQL, while people are logging in, and started again on the same port, empty.

While Redis is down, what needs a short-lived record is answered 503 with Retry-After,
soon, in the caller's language or OAuth's JSON; tokens that need none are still issued,
and no password is checked without its throttle. Once Redis is back, the logins that
were in progress end on the expired page with a link that starts them again, nothing
lasting was lost, and the IdP serves whole logins again without a restart.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest
from jwcrypto import jwk

from plugins.pocket_mfa.client import device_api, device_key
from plugins.pocket_mfa.client.state import DeviceState
from plugins.pocket_mfa.push.protocol import api_base, parse_pairing_uri
from tests.flows.forms import Browser, Page, password_step
from tests.oidc.helpers import ASSERTION_TYPE, client_assertion
from tests.servers.fixtures import Starter
from tests.servers.idp_nodes import IdpNodes, shared_store_settings
from tests.servers.redis_server import RedisServer

pytestmark = pytest.mark.flow

PASSWORD = "kaasschaaf en hagelslag"
RP_CALLBACK = "https://rp.example.test/callback"
POCKET = "/factors/pocket"
#: how long a request may take to be refused while Redis is down
BOUNDED = 2.0
UNAVAILABLE = {"en": "Temporarily unavailable", "nl": "Tijdelijk niet beschikbaar"}
START_AGAIN = {"en": "Start the login again", "nl": "Opnieuw beginnen met inloggen"}


@dataclass
class Deployment:
    nodes: IdpNodes
    redis: RedisServer
    url: str

    def add_users(self, *usernames: str) -> None:
        lines = [json.dumps({"username": name, "password": PASSWORD}) for name in usernames]
        self.nodes.idp("users", "import", "-", stdin="\n".join(lines) + "\n")

    def add_client(self, name: str, *args: str) -> dict[str, Any]:
        created: dict[str, Any] = json.loads(
            self.nodes.idp("clients", "add", name, *args, "--json")
        )
        return created

    def lasting(self) -> dict[str, Any]:
        """What the CLI shows of the store's lasting part: the clients, and the users
        with the second factors they enrolled (an authenticator app, a paired phone)."""
        return {
            "clients": json.loads(self.nodes.idp("clients", "list", "--json")),
            "anna": json.loads(self.nodes.idp("users", "show", "anna")),
            "femke": json.loads(self.nodes.idp("users", "show", "femke")),
        }


def _deploy(
    postgres_url: str,
    start_redis: Starter[..., RedisServer],
    start_idp_nodes: Starter[..., IdpNodes],
) -> Deployment:
    redis = start_redis()
    nodes = start_idp_nodes(
        1, settings=shared_store_settings(postgres_url, IDP_STORE_CACHE=redis.url)
    )
    return Deployment(nodes, redis, nodes.urls[0])


@dataclass
class Authorization:
    """A relying party's authorization request, and what it keeps to finish it."""

    url: str
    state: str
    verifier: str


def _authorization(base: str, client_id: str, scope: str = "openid") -> Authorization:
    state, verifier = secrets.token_urlsafe(16), secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": RP_CALLBACK,
        "scope": scope,
        "state": state,
        "nonce": secrets.token_urlsafe(16),
        "code_challenge": challenge.rstrip(b"=").decode(),
        "code_challenge_method": "S256",
    }
    return Authorization(f"{base}/authorize?{httpx.QueryParams(params)}", state, verifier)


def _code(arrival: Page, auth: Authorization) -> str:
    """The code the relying party receives, for its own request."""
    assert arrival.away and arrival.url.startswith(RP_CALLBACK + "?"), arrival.describe()
    params = httpx.URL(arrival.url).params
    assert params["state"] == auth.state
    return params["code"]


def _exchange(
    d: Deployment, client: dict[str, Any], code: str, auth: Authorization
) -> httpx.Response:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": RP_CALLBACK,
        "code_verifier": auth.verifier,
    }
    return httpx.post(
        f"{d.url}/token", data=form, auth=(client["client_id"], client["client_secret"]), timeout=30
    )


def _browser(d: Deployment, language: str) -> Browser:
    browser = Browser(d.url)
    browser.session.headers["Accept-Language"] = language
    return browser


def _timed(send: Callable[[], Any]) -> tuple[Any, float]:
    started = time.monotonic()
    answer = send()
    return answer, time.monotonic() - started


def _assert_unavailable_page(page: Page, language: str, took: float) -> None:
    assert page.status == 503, page.describe()
    assert UNAVAILABLE[language] in page.html and "Traceback" not in page.html
    assert f'lang="{language}"' in page.html
    assert took < BOUNDED, took


def _assert_unavailable_json(answer: httpx.Response, took: float) -> None:
    assert answer.status_code == 503, answer.text
    assert answer.json()["error"] == "temporarily_unavailable"
    assert answer.headers["retry-after"] == "5"
    assert took < BOUNDED, took


def _restart_link(page: Page, language: str) -> str:
    """The expired page in `language`, with its link that starts the login again."""
    assert page.status == 400, page.describe()
    assert f'lang="{language}"' in page.html
    assert page.text("error-link") == START_AGAIN[language]
    found = re.search(r'id="error-link" href="([^"]+)"', page.html)
    assert found, page.describe()
    return html.unescape(found.group(1))


# --- the Pocket pages, as a person uses them
def _enroll_app(browser: Browser, page: Page) -> tuple[str, Page]:
    """The wizard: the authenticator app; its secret and where the browser went next."""
    assert page.path.endswith("/methods"), page.describe()
    page = browser.submit(page, ("action", "next"), method="pocket:totp")
    secret = page.text("totp-secret").replace(" ", "")
    page = browser.submit(page, ("action", "next"), code=pyotp.TOTP(secret).now())
    assert page.path.endswith("/done"), page.describe()
    return secret, browser.submit(page, ("action", "next"))


def _pair_phone(browser: Browser, page: Page) -> tuple[DeviceState, Page]:
    """The wizard: Pocket, paired through the device API; the phone and where the
    browser went next."""
    assert page.path.endswith("/methods"), page.describe()
    page = browser.submit(page, ("action", "next"), method="pocket:push")
    page = browser.submit(page, ("action", "next"))
    link = re.search(r'<a href="(pocket://pair\?[^"]+)" id="pairing-link">', page.html)
    assert link, page.describe()
    issuer, token = parse_pairing_uri(html.unescape(link.group(1)))
    private_key, alg = device_key.generate("ed25519")
    base_url = api_base(issuer)
    paired = device_api.pair(base_url, token, device_key.public_part(private_key), "Pixel 9")
    phone = DeviceState(
        paired["device_id"],
        paired["issuer"],
        base_url,
        paired["account"],
        "Pixel 9",
        private_key,
        alg,
    )
    page = browser.open(page.url)  # the wizard's page notices the pairing
    assert page.path.endswith("/done"), page.describe()
    return phone, browser.submit(page, ("action", "next"))


def test_logins_under_way_when_redis_is_killed_start_again_and_nothing_lasting_is_lost(
    postgres_url: str,
    start_redis: Starter[..., RedisServer],
    start_idp_nodes: Starter[..., IdpNodes],
) -> None:
    d = _deploy(postgres_url, start_redis, start_idp_nodes)
    d.add_users("anna", "bram", "femke")
    app = d.add_client(
        "Team wiki",
        "--redirect-uri",
        RP_CALLBACK,
        "--first-party",
        "--scope",
        "openid offline_access",
    )

    # before: anna sets up the authenticator app, femke pairs a phone; both get tokens
    anna = _browser(d, "nl")
    auth = _authorization(d.url, app["client_id"], "openid offline_access")
    secret, arrival = _enroll_app(anna, password_step(anna, anna.open(auth.url), "anna", PASSWORD))
    tokens = _exchange(d, app, _code(arrival, auth), auth).json()
    femke = _browser(d, "en")
    auth = _authorization(d.url, app["client_id"])
    page = password_step(femke, femke.open(auth.url), "femke", PASSWORD)
    phone, arrival = _pair_phone(femke, page)
    assert _exchange(d, app, _code(arrival, auth), auth).status_code == 200
    lasting = d.lasting()
    assert lasting["anna"]["second_factors"] and lasting["femke"]["second_factors"]

    # under way: anna (Dutch) at the code page of a new browser, bram at the login form
    anna_again = _browser(d, "nl")
    anna_auth = _authorization(d.url, app["client_id"])
    code_page = password_step(anna_again, anna_again.open(anna_auth.url), "anna", PASSWORD)
    assert code_page.path.startswith(f"{POCKET}/verify/"), code_page.describe()
    bram = _browser(d, "en")
    bram_auth = _authorization(d.url, app["client_id"])
    login_page = bram.open(bram_auth.url)
    assert login_page.path.startswith("/login/"), login_page.describe()

    d.redis.kill()
    try:
        # the pages under way answer 503 in each person's language, soon
        page, took = _timed(
            lambda: anna_again.submit(
                code_page, ("action", "next"), code=pyotp.TOTP(secret).at(time.time() + 30)
            )
        )
        _assert_unavailable_page(page, "nl", took)
        page, took = _timed(lambda: anna_again.open(code_page.url))
        _assert_unavailable_page(page, "nl", took)
        page, took = _timed(lambda: password_step(bram, login_page, "bram", PASSWORD))
        _assert_unavailable_page(page, "en", took)
    finally:
        d.redis.start()

    # back, and empty: each login under way ends on the page that starts it again
    page = anna_again.submit(
        code_page, ("action", "next"), code=pyotp.TOTP(secret).at(time.time() + 30)
    )
    restart = _restart_link(page, "nl")
    assert restart == anna_auth.url
    assert _restart_link(anna_again.open(code_page.url), "nl") == restart
    page = password_step(anna_again, anna_again.open(restart), "anna", PASSWORD)
    # her authenticator app is still enrolled: the code page, not the wizard
    assert page.path.startswith(f"{POCKET}/verify/"), page.describe()
    page = anna_again.submit(page, ("action", "next"), code=pyotp.TOTP(secret).at(time.time() + 30))
    assert _exchange(d, app, _code(page, anna_auth), anna_auth).status_code == 200

    restart = _restart_link(password_step(bram, login_page, "bram", PASSWORD), "en")
    assert restart == bram_auth.url
    page = password_step(bram, bram.open(restart), "bram", PASSWORD)
    assert page.path.endswith("/methods"), page.describe()  # his first login

    # nothing lasting was lost: users, clients, enrollments and devices ...
    assert d.lasting() == lasting
    with device_api.DeviceApi(phone) as api:
        assert api.device()["device_id"] == phone.device_id  # still paired
    # ... nor anna's refresh token family, nor her single sign-on session
    refreshed = httpx.post(
        f"{d.url}/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=(app["client_id"], app["client_secret"]),
    )
    assert refreshed.status_code == 200, refreshed.text
    auth = _authorization(d.url, app["client_id"])
    silent = anna.open(auth.url + "&prompt=none")
    assert _exchange(d, app, _code(silent, auth), auth).status_code == 200
    assert all("Traceback" not in log for log in d.nodes.logs().values())


def test_while_redis_is_down_lasting_grants_give_tokens_and_no_password_is_checked(
    postgres_url: str,
    start_redis: Starter[..., RedisServer],
    start_idp_nodes: Starter[..., IdpNodes],
    tmp_path: Path,
) -> None:
    d = _deploy(postgres_url, start_redis, start_idp_nodes)
    d.add_users("carl")
    app = d.add_client(
        "Team wiki",
        "--redirect-uri",
        RP_CALLBACK,
        "--first-party",
        "--mfa",
        "optional",
        "--scope",
        "openid offline_access",
    )
    service = d.add_client("Nightly export", "--grant", "client_credentials")
    signer = jwk.JWK.generate(kty="EC", crv="P-256", kid="export-key")
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [json.loads(signer.export_public())]}))
    signed = d.add_client(
        "Signed export",
        "--grant",
        "client_credentials",
        "--auth-method",
        "private_key_jwt",
        "--jwks",
        str(tmp_path / "jwks.json"),
    )

    def signed_token() -> httpx.Response:
        assertion = client_assertion(signer, signed["client_id"], f"{d.url}/token")
        form = {
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
        }
        return httpx.post(f"{d.url}/token", data=form, timeout=30)

    # before: carl's tokens; a code not yet exchanged; the account page's password form
    carl = _browser(d, "en")
    auth = _authorization(d.url, app["client_id"], "openid offline_access")
    arrival = password_step(carl, carl.open(auth.url), "carl", PASSWORD)
    tokens = _exchange(d, app, _code(arrival, auth), auth).json()
    waiting = _authorization(d.url, app["client_id"])
    code = _code(carl.open(waiting.url), waiting)
    account_form = carl.open(f"{d.url}/account/password")
    assert account_form.status == 200, account_form.describe()
    stranger = _browser(d, "nl")
    login_page = stranger.open(_authorization(d.url, app["client_id"]).url)
    assert signed_token().status_code == 200

    d.redis.kill()
    try:
        # grants that need no short-lived record: a refresh token, a client's secret
        refreshed = httpx.post(
            f"{d.url}/token",
            data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
            auth=(app["client_id"], app["client_secret"]),
            timeout=30,
        )
        assert refreshed.status_code == 200, refreshed.text
        answer = httpx.post(
            f"{d.url}/token",
            data={"grant_type": "client_credentials"},
            auth=(service["client_id"], service["client_secret"]),
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        # a code is a short-lived record; a client assertion's jti is never taken unseen
        _assert_unavailable_json(*_timed(lambda: _exchange(d, app, code, waiting)))
        _assert_unavailable_json(*_timed(signed_token))

        # passwords: neither a wrong nor the right one is checked without its throttle
        for password in ("not the password", PASSWORD):
            page, took = _timed(lambda p=password: password_step(stranger, login_page, "carl", p))
            _assert_unavailable_page(page, "nl", took)
            page, took = _timed(
                lambda p=password: carl.submit(
                    account_form,
                    ("action", "change"),
                    current=p,
                    new="a new password",
                    repeat="a new password",
                )
            )
            _assert_unavailable_page(page, "en", took)
    finally:
        d.redis.start()

    # a Redis that hangs instead (SIGSTOP) is given up on as soon, within its timeout
    with d.redis.frozen():
        _assert_unavailable_json(*_timed(lambda: _exchange(d, app, code, waiting)))
        page, took = _timed(lambda: stranger.open(login_page.url))
        _assert_unavailable_page(page, "nl", took)
        answer = httpx.post(
            f"{d.url}/token",
            data={"grant_type": "client_credentials"},
            auth=(service["client_id"], service["client_secret"]),
            timeout=30,
        )
        assert answer.status_code == 200, answer.text

    # back: the code is gone with Redis; the password was never changed
    lost = _exchange(d, app, code, waiting)
    assert lost.status_code == 400 and lost.json()["error"] == "invalid_grant"
    again = _browser(d, "en")
    auth = _authorization(d.url, app["client_id"])
    arrival = password_step(again, again.open(auth.url), "carl", PASSWORD)
    assert _exchange(d, app, _code(arrival, auth), auth).status_code == 200
    assert signed_token().status_code == 200
    assert all("Traceback" not in log for log in d.nodes.logs().values())
