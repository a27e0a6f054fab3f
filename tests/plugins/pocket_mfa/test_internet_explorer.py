"""Internet Explorer in the enrollment wizard: the authenticator app is offered (its key
and details typed by hand), Pocket leads back to the choice, and the advice to use
another browser comes with an address that starts the same login afresh there."""

from __future__ import annotations

import json
import re
from html import unescape
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import ISSUER, PASSWORD, RP, pkce_pair, query_of, submit_password
from tests.plugins.pocket_mfa.conftest import (
    PocketEnv,
    codes_on,
    form_post,
    id_token_claims,
    secret_on,
    start,
    wizard_url,
)

IE11 = {"user-agent": "Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko"}
MANAGE = "/factors/pocket/manage"

#: per language: the texts of the typed-in details, and of the page for Pocket
TEXTS = {
    "en": {
        "manual": "This browser cannot show the QR code.",
        "details": ["Key", "Account name", "Issuer", "Time-based (TOTP)", "30 seconds", "SHA1"],
        "title": "Please use a supported browser",
        "restart": "open this address in Edge, Firefox, Chrome or Safari",
        "back": "Back",
        "stop": "Stop",
    },
    "nl": {
        "manual": "Deze browser kan de QR-code niet tonen.",
        "details": [
            "Sleutel",
            "Accountnaam",
            "Uitgever",
            "Op tijd gebaseerd (TOTP)",
            "30 seconden",
        ],
        "title": "Gebruik een ondersteunde browser",
        "restart": "open dit adres in Edge, Firefox, Chrome of Safari",
        "back": "Vorige",
        "stop": "Stoppen",
    },
}


def checked_method(page_html: str) -> str:
    found = re.search(r'<input type="radio" name="method" value="([\w:]+)" checked>', page_html)
    assert found, page_html
    return found.group(1)


def restart_url_on(page_html: str) -> str:
    found = re.search(r'<input id="restart-url" readonly value="([^"]+)">', page_html)
    assert found, page_html
    return unescape(found.group(1))


@pytest.mark.parametrize("locale", ["en", "nl"])
def test_the_authenticator_app_is_linked_in_internet_explorer(
    pocket: PocketEnv, locale: str
) -> None:
    texts = TEXTS[locale]
    location = start(pocket, ui_locales=locale)
    choose = pocket.client.get(location, headers=IE11)
    response = form_post(pocket, location, choose.text, method="pocket:totp", action="next")
    app_url = response.headers["location"]
    app = pocket.client.get(app_url, headers=IE11)
    assert app.status_code == 200
    assert "<svg" not in app.text and texts["manual"] in app.text
    shown = re.search(r'<code class="secret" id="totp-secret">([^<]+)</code>', app.text)
    assert shown and re.fullmatch(r"([A-Z2-7]{4} ){7}[A-Z2-7]{4}", shown.group(1))
    for text in texts["details"]:
        assert f"<dd>{text}</dd>" in app.text or f"<dt>{text}</dt>" in app.text, text
    assert "<dd>alice</dd>" in app.text and "<dd>6</dd>" in app.text
    secret = secret_on(app.text)
    done = form_post(pocket, app_url, app.text, code=pocket.code(secret), action="next")
    assert done.status_code == 303, done.text
    done_page = pocket.client.get(done.headers["location"], headers=IE11)
    assert len(codes_on(done_page.text)) == 10
    finished = form_post(pocket, done.headers["location"], done_page.text, action="next")
    assert finished.headers["location"].startswith(RP)
    claims = id_token_claims(pocket, query_of(finished.headers["location"])["code"])
    assert claims["amr"] == ["pwd", "otp", "mfa"]


@pytest.mark.parametrize("locale", ["en", "nl"])
def test_pocket_in_internet_explorer_leads_back_to_the_choice(
    pocket: PocketEnv, locale: str
) -> None:
    texts = TEXTS[locale]
    location = start(pocket, ui_locales=locale)
    for page in ("install", "pair"):
        shown = pocket.client.get(f"{wizard_url(location)}/{page}", headers=IE11)
        assert shown.status_code == 200
        assert f"<h1>{texts['title']}</h1>" in shown.text
        assert "<svg" not in shown.text
        assert texts["restart"] in shown.text
        back = re.search(
            r'<a class="button" href="([^"]+)" id="back-to-choice">([^<]+)</a>', shown.text
        )
        assert back and back.group(1) == location and back.group(2) == texts["back"]
        assert f">{texts['stop']}</button>" in shown.text
    choose = pocket.client.get(location, headers=IE11)
    assert choose.status_code == 200


def fresh_login_params(env: PocketEnv) -> tuple[str, dict[str, Any]]:
    """A login whose request has every parameter the login keeps; its factor step."""
    _, challenge = pkce_pair()
    claims = {"id_token": {"acr": {"essential": True, "values": ["urn:pocket-idp:acr:mfa"]}}}
    params = {
        "scope": "openid profile email",
        "state": "st4te",
        "nonce": "n0nce",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "ui_locales": "nl",
        "login_hint": "alice",
        "max_age": "600",
        "prompt": "login",
        "acr_values": "urn:pocket-idp:acr:mfa",
        "claims": json.dumps(claims),
    }
    return start(env, **params), params


def test_the_other_browser_address_starts_the_same_login_afresh(pocket: PocketEnv) -> None:
    location, params = fresh_login_params(pocket)
    page = pocket.client.get(f"{wizard_url(location)}/install", headers=IE11)
    address = restart_url_on(page.text)
    assert f'href="microsoft-edge:{address}"'.replace("&", "&amp;") in page.text
    parts = urlsplit(address)
    assert f"{parts.scheme}://{parts.netloc}" == ISSUER and parts.path == "/authorize"
    sent = query_of(address)
    expected = {"response_type": "code", "client_id": "rp", "redirect_uri": RP, **params}
    assert {k: v for k, v in sent.items() if k != "claims"} == {
        k: v for k, v in expected.items() if k != "claims"
    }
    assert json.loads(sent["claims"]) == json.loads(params["claims"])

    # another browser: a new cookie jar, where the old login's pages are expired
    pocket.client.cookies.clear()
    assert pocket.client.get(location).status_code == 400
    started = pocket.client.get(address)
    assert started.status_code == 303, started.text
    assert started.headers["location"].startswith("/login/")
    login_page = pocket.client.get(started.headers["location"])
    assert "Inloggen" in login_page.text or "Log in" in login_page.text
    factor = submit_password(pocket, started.headers["location"], "alice", PASSWORD)
    assert factor.status_code == 303
    assert factor.headers["location"].endswith("/methods")
    assert factor.headers["location"] != location
    choose = pocket.client.get(factor.headers["location"])
    assert choose.status_code == 200 and checked_method(choose.text) == "pocket:push"


def test_the_manage_page_links_an_app_in_internet_explorer(pocket: PocketEnv) -> None:
    pocket.add_client(client_id="lax", mfa="optional")
    response = pocket.client.get(
        "/authorize",
        params={
            "response_type": "code",
            "client_id": "lax",
            "redirect_uri": RP,
            "scope": "openid",
            "state": "s",
        },
    )
    assert submit_password(pocket, response.headers["location"]).status_code == 303
    overview = pocket.client.get(MANAGE)
    response = form_post(pocket, MANAGE, overview.text, action="app")
    setup_url = response.headers["location"]
    setup = pocket.client.get(setup_url, headers=IE11)
    assert "<svg" not in setup.text and 'id="totp-details"' in setup.text
    secret = secret_on(setup.text)
    saved = form_post(pocket, setup_url, setup.text, code=pocket.code(secret), action="next")
    assert saved.status_code == 200 and len(codes_on(saved.text)) == 10


@pytest.mark.parametrize("locale", ["en", "nl"])
def test_linking_pocket_from_the_manage_page_points_to_the_account_elsewhere(
    pocket: PocketEnv, locale: str
) -> None:
    pocket.add_client(client_id="lax", mfa="optional")
    query = {"response_type": "code", "client_id": "lax", "redirect_uri": RP, "scope": "openid"}
    response = pocket.client.get("/authorize", params=query)
    assert submit_password(pocket, response.headers["location"]).status_code == 303
    overview = pocket.client.get(MANAGE)
    pair_url = form_post(pocket, MANAGE, overview.text, action="pocket").headers["location"]
    headers = {**IE11, "accept-language": locale}
    page = pocket.client.get(pair_url, headers=headers)
    assert page.status_code == 200 and "<svg" not in page.text
    assert {"en": "Or open your account in Edge", "nl": "Of open je account in Edge"}[
        locale
    ] in page.text
    address = restart_url_on(page.text)
    assert address == f"{ISSUER}/account"
    assert f'<a href="{MANAGE}">' in page.text
    # another browser: the address leads to a login for the account
    pocket.client.cookies.clear()
    started = pocket.client.get(address)
    assert started.status_code == 303
    assert query_of(started.headers["location"])["client_id"] == "account"
