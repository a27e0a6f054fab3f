"""The end of the wizard and the pages with new recovery codes: the button that goes on
names where it goes, the codes are shown once, and they can be downloaded or copied."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import unquote

import pytest

from tests.conftest import ISSUER, RP, hidden_inputs, query_of, submit_password
from tests.plugins.pocket_mfa.conftest import (
    PocketEnv,
    codes_on,
    enroll,
    form_post,
    secret_on,
    start,
    verify,
)

MANAGE = "/factors/pocket/manage"
CONTINUE = {"en": "Continue to Test RP", "nl": "Verder naar Test RP"}
TO_ACCOUNT = {"en": "Continue to your account", "nl": "Verder naar je account"}
GONE = {
    "en": "Your recovery codes were shown once, when this page first opened",
    "nl": "Je herstelcodes zijn één keer getoond, toen deze pagina voor het eerst openging",
}
FILE_NAME = {"en": "recovery-codes.txt", "nl": "herstelcodes.txt"}


def done_url(env: PocketEnv, locale: str) -> str:
    """A login that has just linked an authenticator app: the wizard's done page."""
    location = start(env, ui_locales=locale)
    choose = env.client.get(location).text
    app_url = form_post(env, location, choose, method="pocket:totp", action="next").headers[
        "location"
    ]
    app = env.client.get(app_url).text
    response = form_post(env, app_url, app, code=env.code(secret_on(app)), action="next")
    assert response.status_code == 303, response.text
    url: str = response.headers["location"]
    assert url.endswith("/done"), url
    return url


def continue_button(page_html: str) -> str:
    found = re.search(r'id="done-continue">([^<]+)</button>', page_html)
    assert found, page_html
    return unescape(found.group(1))


def download_link(page_html: str) -> tuple[str, str]:
    """The download link's file name and the text of the file."""
    found = re.search(
        r'<a class="button secondary" id="download-codes" href="data:text/plain;charset=utf-8,'
        r'([^"]*)" download="([^"]+)">',
        page_html,
    )
    assert found, page_html
    return unescape(found.group(2)), unquote(unescape(found.group(1)))


@pytest.mark.parametrize("locale", ["en", "nl"])
def test_the_last_button_names_the_application(pocket: PocketEnv, locale: str) -> None:
    url = done_url(pocket, locale)
    done = pocket.client.get(url).text
    assert continue_button(done) == CONTINUE[locale]
    response = form_post(pocket, url, done, action="next")
    assert response.status_code == 303 and response.headers["location"].startswith(RP)


@pytest.mark.parametrize("locale", ["en", "nl"])
def test_enrolling_for_the_account_page_continues_to_the_account(
    pocket: PocketEnv, locale: str
) -> None:
    headers = {"accept-language": locale}
    authorize = pocket.client.get("/account", headers=headers).headers["location"]
    login = pocket.client.get(authorize, headers=headers).headers["location"]
    response = submit_password(pocket, login)
    location = response.headers["location"]
    assert location.endswith("/methods"), location
    choose = pocket.client.get(location).text
    app_url = form_post(pocket, location, choose, method="pocket:totp", action="next").headers[
        "location"
    ]
    app = pocket.client.get(app_url).text
    url = form_post(pocket, app_url, app, code=pocket.code(secret_on(app)), action="next")
    done = pocket.client.get(url.headers["location"]).text
    assert continue_button(done) == TO_ACCOUNT[locale]
    response = form_post(pocket, url.headers["location"], done, action="next")
    assert response.headers["location"].startswith(f"{ISSUER}/account/callback?")
    assert pocket.client.get(response.headers["location"]).headers["location"] == "/account"


@pytest.mark.parametrize("locale", ["en", "nl"])
def test_the_recovery_codes_are_shown_once(pocket: PocketEnv, locale: str) -> None:
    url = done_url(pocket, locale)
    first = pocket.client.get(url)
    codes = codes_on(first.text)
    assert len(codes) == 10 and GONE[locale] not in first.text
    # a reload, or a second tab, shows where to make new ones instead
    again = pocket.client.get(url)
    assert again.status_code == 200
    assert codes_on(again.text) == [] and 'id="download-codes"' not in again.text
    assert not any(code in again.text for code in codes)
    assert GONE[locale] in again.text
    # the login goes on, and the codes work
    response = form_post(pocket, url, again.text, action="next")
    assert response.headers["location"].startswith(RP)
    pocket.client.cookies.delete("idp_session")
    assert verify(pocket, start(pocket, prompt="login"), codes[0]).status_code == 303


@pytest.mark.parametrize("locale", ["en", "nl"])
def test_the_recovery_codes_download_as_a_text_file(pocket: PocketEnv, locale: str) -> None:
    url = done_url(pocket, locale)
    page = pocket.client.get(url)
    assert page.headers["cache-control"] == "no-store"
    name, text = download_link(page.text)
    assert name == FILE_NAME[locale]
    lines = text.splitlines()
    assert "alice" in lines[0] and "Pocket IdP" in lines[0]
    assert lines[2:] == codes_on(page.text)
    # the copy button is there for the script to show, with the script beside it
    assert re.search(r'<button type="button" class="secondary" id="copy-codes" hidden', page.text)
    script = pocket.client.get("/factors/pocket/static/codes.js")
    assert script.status_code == 200 and "navigator.clipboard" in script.text
    # the page, with its link, is this browser's alone
    pocket.client.cookies.clear()
    stranger = pocket.client.get(url)
    assert stranger.status_code == 400 and "download-codes" not in stranger.text


def test_new_codes_from_the_account_page_download_and_are_not_shown_again(
    pocket: PocketEnv,
) -> None:
    enrolled = enroll(pocket, start(pocket))
    page = pocket.client.get(MANAGE, headers={"accept-language": "nl"})
    form = hidden_inputs(page.text) | {"action": "codes"}
    form["current"] = pocket.code(enrolled.secret, 1)
    shown = pocket.client.post(MANAGE, data=form, headers={"accept-language": "nl"})
    assert shown.status_code == 200 and shown.headers["cache-control"] == "no-store"
    codes = codes_on(shown.text)
    name, text = download_link(shown.text)
    assert name == "herstelcodes.txt" and text.splitlines()[2:] == codes
    assert text.startswith("Herstelcodes voor alice bij Pocket IdP.")
    # a reload sends the same form again: its token is used up, the codes are not shown
    reloaded = pocket.client.post(MANAGE, data=form, headers={"accept-language": "nl"})
    assert reloaded.status_code == 403
    assert not any(code in reloaded.text for code in codes)
    assert "Formulier verlopen" in reloaded.text
    # the codes are the user's new ones
    pocket.client.cookies.delete("idp_session")
    response = verify(pocket, start(pocket, prompt="login"), codes[0])
    assert response.status_code == 303
    assert query_of(response.headers["location"])["state"] == "st4te"
