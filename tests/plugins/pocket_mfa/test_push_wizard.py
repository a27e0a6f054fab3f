"""The wizard's Pocket way: install, scan the pairing QR code, the page moves on itself."""

from __future__ import annotations

import threading
import time
from typing import Any

from plugins.pocket_mfa.push.protocol import parse_pairing_uri
from tests.conftest import ISSUER
from tests.plugins.pocket_mfa.conftest import (
    PocketEnv,
    enroll_push,
    form_post,
    id_token_claims,
    new_phone,
    pairing_uri_on,
    start,
    wait_url_on,
    wizard_url,
)

IE11 = "Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko"


def pair_page(env: PocketEnv, location: str, **headers: str) -> Any:
    install = env.client.get(wizard_url(location) + "/install", headers=headers)
    assert install.status_code == 200, install.text
    return env.client.get(wizard_url(location) + "/pair", headers=headers)


def test_push_is_recommended_and_the_install_page_follows_the_seed(pocket: PocketEnv) -> None:
    location = start(pocket)
    choose = pocket.client.get(location)
    response = form_post(pocket, location, choose.text, action="next", method="pocket:push")
    assert response.headers["location"] == wizard_url(location) + "/install"
    install = pocket.client.get(wizard_url(location) + "/install")
    assert "Install Pocket" in install.text
    assert "free in the Apple App Store and the Google Play Store" in install.text
    assert "Log in step 3 of 4" in install.text
    response = form_post(pocket, wizard_url(location) + "/install", install.text, action="next")
    assert response.headers["location"] == wizard_url(location) + "/pair"
    back = form_post(pocket, wizard_url(location) + "/install", install.text, action="back")
    assert back.headers["location"] == location


def test_the_pairing_page_shows_a_qr_code_with_a_one_time_pairing_uri(pocket: PocketEnv) -> None:
    location = start(pocket)
    page = pair_page(pocket, location)
    assert page.status_code == 200
    assert '<div class="qr" id="pairing-qr"' in page.text
    assert "<svg" in page.text and 'aria-label="QR code to link Pocket"' in page.text
    assert "Tap to scan" in page.text
    assert "Enter the activation code" in page.text
    assert "Internet Explorer is not supported" in page.text
    assert 'src="/factors/pocket/static/pocket.js"' in page.text
    assert wait_url_on(page.text) == wizard_url(location) + "/pair/wait"
    issuer, token = parse_pairing_uri(pairing_uri_on(page.text))
    assert issuer == ISSUER and token.startswith("pp_")
    # a reload shows the same code: a phone that scanned it still pairs
    again = pocket.client.get(wizard_url(location) + "/pair")
    assert pairing_uri_on(again.text) == pairing_uri_on(page.text)
    # the script is served, and waits on a long-poll (no timer decides when to look)
    script = pocket.client.get("/factors/pocket/static/pocket.js")
    assert script.status_code == 200 and "fetch(" in script.text
    assert "setInterval" not in script.text


def test_the_page_learns_of_the_pairing_at_once_and_moves_on(pocket: PocketEnv) -> None:
    location = start(pocket)
    page = pair_page(pocket, location)
    _, token = parse_pairing_uri(pairing_uri_on(page.text))
    answers: list[tuple[float, Any]] = []

    def long_poll() -> None:
        response = pocket.client.get(wait_url_on(page.text))
        answers.append((time.monotonic(), response))

    waiting = threading.Thread(target=long_poll)
    waiting.start()
    time.sleep(0.3)
    assert not answers, "the long-poll answered before the phone paired"
    phone = new_phone(pocket)
    paired_at = time.monotonic()
    assert phone.pair(token, "Fairphone 5").status_code == 201
    waiting.join(5)
    assert answers, "the long-poll did not answer"
    answered_at, response = answers[0]
    assert answered_at - paired_at < 1.0
    assert response.json() == {"done": True, "next": wizard_url(location) + "/pair"}

    moved = pocket.client.get(wizard_url(location) + "/pair")
    assert moved.status_code == 303
    assert moved.headers["location"] == wizard_url(location) + "/done"
    done = pocket.client.get(wizard_url(location) + "/done")
    assert "Your account is linked to Pocket!" in done.text
    assert done.text.count("<li><code>") == 10
    response = form_post(pocket, wizard_url(location) + "/done", done.text, action="next")
    assert response.status_code == 303
    code = dict(p.split("=") for p in response.headers["location"].split("?")[1].split("&"))
    claims = id_token_claims(pocket, code["code"])
    assert claims["amr"] == ["pwd", "swk", "mfa"]
    user = pocket.store.find_user("alice")
    kinds = [(m.kind, m.label) for m in pocket.run(pocket.plugin.methods, user)]
    assert kinds[0] == ("pocket", "Fairphone 5") and kinds[1][0] == "recovery codes"


def test_without_javascript_the_button_checks(pocket: PocketEnv) -> None:
    location = start(pocket)
    page = pair_page(pocket, location)
    early = form_post(pocket, wizard_url(location) + "/pair", page.text, action="check")
    assert early.status_code == 200
    assert "Your phone has not linked yet" in early.text
    _, token = parse_pairing_uri(pairing_uri_on(page.text))
    assert new_phone(pocket).pair(token).status_code == 201
    checked = form_post(pocket, wizard_url(location) + "/pair", page.text, action="check")
    assert checked.status_code == 303
    assert checked.headers["location"] == wizard_url(location) + "/done"


def test_the_wizard_with_pocket_ends_at_the_relying_party(pocket: PocketEnv) -> None:
    enrolled = enroll_push(pocket, start(pocket))
    assert len(enrolled.codes) == 10
    assert id_token_claims(pocket, enrolled.rp_query["code"])["amr"] == ["pwd", "swk", "mfa"]


def test_an_expired_pairing_code_is_replaced_on_the_page(pocket: PocketEnv) -> None:
    location = start(pocket)
    page = pair_page(pocket, location)
    pairing = pocket.plugin.services.push.pairing
    pairing.clock = lambda: time.time() + pairing.ttl + 1
    try:
        waited = pocket.client.get(wait_url_on(page.text))
        assert waited.json()["done"] is True
        fresh = pocket.client.get(wizard_url(location) + "/pair")
        assert pairing_uri_on(fresh.text) != pairing_uri_on(page.text)
    finally:
        pairing.clock = time.time


def test_stop_on_the_pairing_page_ends_the_login(pocket: PocketEnv) -> None:
    location = start(pocket)
    page = pair_page(pocket, location)
    response = form_post(pocket, wizard_url(location) + "/pair", page.text, action="stop")
    assert response.status_code == 303
    assert "error=access_denied" in response.headers["location"]


def test_internet_explorer_gets_no_qr_code(pocket: PocketEnv) -> None:
    location = start(pocket)
    for page in ("install", "pair"):
        response = pocket.client.get(f"{wizard_url(location)}/{page}", headers={"user-agent": IE11})
        assert "Please use a supported browser" in response.text
        assert "<svg" not in response.text


def test_the_pairing_page_speaks_dutch(pocket: PocketEnv) -> None:
    location = start(pocket, ui_locales="nl")
    install = pocket.client.get(wizard_url(location) + "/install").text
    assert "gratis beschikbaar in de Apple App Store en de Google Play Store" in install
    page = pocket.client.get(wizard_url(location) + "/pair").text
    for text in (
        "Tik om te scannen",
        "Voer de activatiecode in",
        "Ik heb de code gescand",
        "Internet Explorer wordt niet ondersteund",
    ):
        assert text in page, text
