"""The enrollment wizard and the code step, through HTTP like a browser."""

from __future__ import annotations

import re

import pytest

from tests.conftest import RP, authorize, query_of, submit_password
from tests.plugins.pocket_mfa.conftest import (
    PocketEnv,
    codes_on,
    enroll,
    form_post,
    id_token_claims,
    secret_on,
    start,
    verify,
    wizard_url,
)

IE11 = "Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko"


def test_a_user_without_a_factor_enrolls_and_returns_with_both_factors(
    pocket: PocketEnv,
) -> None:
    location = start(pocket)
    assert location.endswith("/methods")
    enrolled = enroll(pocket, location)
    assert len(enrolled.codes) == 10
    assert enrolled.rp_query["state"] == "st4te"
    claims = id_token_claims(pocket, enrolled.rp_query["code"])
    assert claims["amr"] == ["pwd", "otp", "mfa"]
    assert claims["acr"] == "urn:pocket-idp:acr:mfa"
    kinds = [m.kind for m in pocket.run(pocket.plugin.methods, pocket.store.find_user("alice"))]
    assert kinds == ["totp", "recovery codes"]


def test_the_next_login_asks_for_a_fresh_code(pocket: PocketEnv) -> None:
    enrolled = enroll(pocket, start(pocket))
    pocket.client.cookies.delete("idp_session")
    location = start(pocket, prompt="login")
    assert location.startswith("/factors/pocket/verify/")
    # the code that confirmed the enrollment is used up ...
    refused = verify(pocket, location, pocket.code(enrolled.secret))
    assert refused.status_code == 400
    assert "each code works only once" in refused.text
    # ... the next one (one step of skew) is accepted
    response = verify(pocket, location, pocket.code(enrolled.secret, offset=1))
    assert response.status_code == 303, response.text
    claims = id_token_claims(pocket, query_of(response.headers["location"])["code"])
    assert claims["amr"] == ["pwd", "otp", "mfa"]


def test_a_recovery_code_replaces_a_code_once(pocket: PocketEnv) -> None:
    enrolled = enroll(pocket, start(pocket))
    pocket.client.cookies.delete("idp_session")
    location = start(pocket, prompt="login")
    response = verify(pocket, location, enrolled.codes[3])
    assert response.status_code == 303
    assert response.headers["location"].startswith(RP)
    pocket.client.cookies.delete("idp_session")
    location = start(pocket, prompt="login")
    assert verify(pocket, location, enrolled.codes[3]).status_code == 400


def test_wrong_codes_are_throttled_with_a_clear_message(pocket: PocketEnv) -> None:
    enrolled = enroll(pocket, start(pocket))
    pocket.client.cookies.delete("idp_session")
    location = start(pocket, prompt="login")
    for _ in range(4):
        assert verify(pocket, location, "000000").status_code == 400
    locked = verify(pocket, location, "000000")
    assert locked.status_code == 429
    assert "Too many wrong codes" in locked.text and "15 minutes" in locked.text
    assert verify(pocket, location, pocket.code(enrolled.secret, 1)).status_code == 429


def test_stop_on_the_first_page_ends_the_login_and_saves_nothing(pocket: PocketEnv) -> None:
    location = start(pocket)
    page = pocket.client.get(location)
    response = form_post(pocket, location, page.text, method="pocket:totp", action="stop")
    assert response.status_code == 303
    query = query_of(response.headers["location"])
    assert response.headers["location"].startswith(RP)
    assert query["error"] == "access_denied" and query["state"] == "st4te"
    assert pocket.client.get(location).status_code == 400  # the login is gone
    assert pocket.run(pocket.plugin.methods, pocket.store.find_user("alice")) == []


def test_stop_after_the_qr_code_saves_nothing(pocket: PocketEnv) -> None:
    location = start(pocket)
    app_url = wizard_url(location) + "/app"
    page = pocket.client.get(app_url)
    secret = secret_on(page.text)
    response = form_post(pocket, app_url, page.text, code=pocket.code(secret), action="stop")
    assert query_of(response.headers["location"])["error"] == "access_denied"
    user = pocket.store.find_user("alice")
    assert not pocket.run(pocket.plugin.is_enrolled, user)
    assert pocket.run(pocket.plugin.methods, user) == []


def test_only_a_right_code_saves_the_enrollment(pocket: PocketEnv) -> None:
    app_url = wizard_url(start(pocket)) + "/app"
    page = pocket.client.get(app_url)
    secret = secret_on(page.text)
    wrong = form_post(pocket, app_url, page.text, code="123456", action="next")
    assert wrong.status_code == 400
    assert "That code is not right" in wrong.text
    assert not pocket.run(pocket.plugin.is_enrolled, pocket.store.find_user("alice"))
    # the page keeps the same secret, so the app that scanned it still works
    assert secret_on(wrong.text) == secret
    right = form_post(pocket, app_url, wrong.text, code=pocket.code(secret), action="next")
    assert right.status_code == 303
    assert pocket.run(pocket.plugin.is_enrolled, pocket.store.find_user("alice"))


def test_the_pages_follow_the_seed(pocket: PocketEnv) -> None:
    location = start(pocket)
    page = pocket.client.get(location).text
    assert "Two-factor authentication" in page
    assert "Stop</button>" in page and "Next</button>" in page
    # push: recommended, explained and preselected; the app is the other choice
    assert "Log in with a notification via Pocket (recommended)" in page
    assert "you approve the notification" in page
    assert re.search(r'value="pocket:push"\s+checked', page)
    assert not re.search(r'value="pocket:totp"\s+checked', page)
    assert "disabled" not in page
    app = pocket.client.get(wizard_url(location) + "/app").text
    assert "Log in step 3 of 4" in app
    assert '<svg role="img"' not in app or "<svg" in app
    assert re.search(r'<div class="qr" id="totp-qr"><svg [^>]*viewBox=', app)
    assert pocket.client.get("/factors/pocket/help?lang=en").status_code == 200


def test_choosing_push_goes_to_installing_the_app(pocket: PocketEnv) -> None:
    location = start(pocket)
    page = pocket.client.get(location)
    response = form_post(pocket, location, page.text, method="pocket:push", action="next")
    assert response.status_code == 303
    assert response.headers["location"] == wizard_url(location) + "/install"


def test_choosing_nothing_asks_for_a_method(pocket: PocketEnv) -> None:
    location = start(pocket)
    page = pocket.client.get(location)
    response = form_post(pocket, location, page.text, action="next")
    assert response.status_code == 400
    assert "Please choose a method." in response.text


def test_the_wizard_speaks_dutch(pocket: PocketEnv) -> None:
    location = start(pocket, ui_locales="nl")
    page = pocket.client.get(location).text
    for text in (
        "Twee-factorauthenticatie",
        "Inloggen met notificatie via Pocket (aanbevolen)",
        "Inloggen met bevestigingscode via authenticatie-app",
        "Stoppen</button>",
        "Volgende</button>",
        '<html lang="nl">',
    ):
        assert text in page, text
    app_url = wizard_url(location) + "/app"
    app = pocket.client.get(app_url)
    assert "Authenticatie-app koppelen" in app.text
    assert "Lukt scannen niet?" in app.text
    response = form_post(pocket, app_url, app.text, code=pocket.code(secret_on(app.text)))
    done = pocket.client.get(response.headers["location"]).text
    assert "Aanmelden stap 4 van 4" in done
    assert "Gelukt!" in done and "Je account is gekoppeld" in done
    assert "Verder naar Test RP</button>" in done and "Je herstelcodes" in done
    assert len(codes_on(done)) == 10


def test_internet_explorer_gets_the_key_instead_of_a_qr_code(pocket: PocketEnv) -> None:
    app_url = wizard_url(start(pocket)) + "/app"
    page = pocket.client.get(app_url, headers={"User-Agent": IE11})
    assert page.status_code == 200
    assert "<svg" not in page.text and 'id="totp-details"' in page.text
    assert re.fullmatch(r"[A-Z2-7]{32}", secret_on(page.text))
    old_ie = "Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 6.1; Trident/4.0)"
    older = pocket.client.get(app_url, headers={"User-Agent": old_ie}).text
    assert "<svg" not in older and 'id="totp-details"' in older


def test_a_form_without_its_csrf_token_is_refused(pocket: PocketEnv) -> None:
    location = start(pocket)
    response = pocket.client.post(location, data={"csrf": "forged", "method": "pocket:totp"})
    assert response.status_code == 403
    response = pocket.client.post(wizard_url(location) + "/app", data={"code": "123456"})
    assert response.status_code == 403


def test_a_csrf_token_with_non_ascii_text_is_refused(pocket: PocketEnv) -> None:
    location = start(pocket)
    response = pocket.client.post(location, data={"csrf": "f\u00f6rged", "method": "pocket:totp"})
    assert response.status_code == 403


@pytest.mark.parametrize("digits", ["\uff11\uff12\uff13\uff14\uff15\uff16", "\u0661" * 6])
def test_a_code_in_other_digits_than_ascii_is_not_right(pocket: PocketEnv, digits: str) -> None:
    enroll(pocket, start(pocket))
    pocket.client.cookies.delete("idp_session")
    location = start(pocket, prompt="login")
    response = verify(pocket, location, digits)
    assert response.status_code == 400, response.text
    assert "That code is not right" in response.text


def test_an_enrolled_user_cannot_enroll_again_inside_a_login(pocket: PocketEnv) -> None:
    enroll(pocket, start(pocket))
    pocket.client.cookies.delete("idp_session")
    location = start(pocket, prompt="login")
    login_id = location.rsplit("/", 1)[1]
    for page in ("", "/app", "/done"):
        response = pocket.client.get(f"/factors/pocket/enroll/{login_id}{page}")
        assert response.status_code == 303
        assert response.headers["location"] == location


def test_another_browser_cannot_use_the_login(pocket: PocketEnv) -> None:
    location = start(pocket)
    pocket.client.cookies.clear()
    assert pocket.client.get(location).status_code == 400
    assert pocket.client.get(wizard_url(location) + "/app").status_code == 400


def test_clients_that_do_not_require_a_factor_skip_it(pocket: PocketEnv) -> None:
    pocket.add_client("relaxed", mfa="optional")
    response = authorize(pocket, client_id="relaxed")
    response = submit_password(pocket, response.headers["location"])
    assert response.headers["location"].startswith(RP)


def test_step_up_asks_an_optional_client_for_the_factor(pocket: PocketEnv) -> None:
    pocket.add_client("relaxed", mfa="optional")
    location = start(pocket, client_id="relaxed", acr_values="urn:pocket-idp:acr:mfa")
    assert location.endswith("/methods")


def test_enter_submits_the_primary_button_of_every_wizard_form() -> None:
    """A browser submits a form on Enter with its first submit button: never Stop."""
    import re
    from pathlib import Path

    folder = Path(__file__).parents[3] / "plugins" / "pocket_mfa" / "templates" / "pocket"
    for template in folder.glob("*.html"):
        for block in re.findall(r'<div class="buttons">(.*?)</div>', template.read_text(), re.S):
            values = re.findall(r'<button type="submit" name="action" value="([a-z]+)"', block)
            if len(values) > 1:
                assert values[0] not in ("stop", "back", "cancel"), (template.name, values)
