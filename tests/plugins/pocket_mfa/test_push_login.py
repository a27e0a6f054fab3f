"""Logging in with Pocket push: approve, deny, fraud, wrong number, expiry, the push limit,
"use a code instead", and withdrawing a push that nobody waits for any more."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import RP, query_of
from tests.plugins.pocket_mfa.conftest import (
    PocketEnv,
    enroll_push,
    form_post,
    id_token_claims,
    paired_phone,
    start,
    wait_url_on,
)
from tests.plugins.pocket_mfa.push.conftest import Phone


@pytest.fixture
def phone(pocket: PocketEnv) -> Phone:
    return paired_phone(pocket)


def waiting_page(env: PocketEnv) -> tuple[str, Any]:
    """Log in with the password; the push is sent and the waiting page shown."""
    location = start(env)
    assert re.fullmatch(r"/factors/pocket/push/[^/]+", location), location
    sent = env.client.get(location)
    assert sent.status_code == 303 and sent.headers["location"] == location
    page = env.client.get(location)
    assert page.status_code == 200, page.text
    return location, page


def shown_number(page_html: str) -> int:
    found = re.search(r'id="push-number"[^>]*>(\d+)<', page_html)
    assert found, page_html
    return int(found.group(1))


def state_of(page_html: str) -> str:
    found = re.search(r'id="push-state" data-state="([a-z_]+)"', page_html)
    assert found, page_html
    return found.group(1)


def test_approving_the_shown_number_finishes_the_login(pocket: PocketEnv, phone: Phone) -> None:
    location, page = waiting_page(pocket)
    assert "We have sent a notification to Pocket on your phone to log in to Test RP" in page.text
    number = shown_number(page.text)
    [challenge] = phone.challenges()
    assert number in challenge["numbers"] and len(challenge["numbers"]) == 3
    assert challenge["client_name"] == "Test RP"
    assert "use-code" not in page.text  # nothing to type instead: no app, no codes
    assert phone.answer(challenge["id"], "approve", number).json() == {"status": "approved"}
    assert pocket.client.get(wait_url_on(page.text)).json() == {"done": True, "next": location}
    response = pocket.client.get(location)
    assert response.status_code == 303 and response.headers["location"].startswith(RP)
    claims = id_token_claims(pocket, query_of(response.headers["location"])["code"])
    assert claims["amr"] == ["pwd", "swk", "mfa"]
    # the approval finished this login once
    assert pocket.client.get(location).status_code == 400


def test_the_waiting_page_learns_the_answer_at_once(pocket: PocketEnv, phone: Phone) -> None:
    _, page = waiting_page(pocket)
    answers: list[tuple[float, Any]] = []

    def long_poll() -> None:
        response = pocket.client.get(wait_url_on(page.text))
        answers.append((time.monotonic(), response))

    waiting = threading.Thread(target=long_poll)
    waiting.start()
    time.sleep(0.3)
    assert not answers
    [challenge] = phone.challenges()
    tapped = time.monotonic()
    phone.answer(challenge["id"], "approve", shown_number(page.text))
    waiting.join(5)
    assert answers and answers[0][0] - tapped < 1.0
    assert answers[0][1].json()["done"] is True


def test_a_deny_ends_the_attempt_until_the_user_asks_again(pocket: PocketEnv, phone: Phone) -> None:
    location, page = waiting_page(pocket)
    [challenge] = phone.challenges()
    assert phone.answer(challenge["id"], "deny").json() == {"status": "denied"}
    assert pocket.client.get(wait_url_on(page.text)).json()["done"] is True
    denied = pocket.client.get(location)
    assert state_of(denied.text) == "denied"
    assert "The login was denied in Pocket" in denied.text
    assert "data-pocket-wait" not in denied.text
    # reloading sends nothing new
    assert state_of(pocket.client.get(location).text) == "denied"
    assert phone.challenges() == []
    again = form_post(pocket, location, denied.text, action="send")
    assert again.status_code == 303
    page = pocket.client.get(location)
    assert state_of(page.text) == "pending"
    [second] = phone.challenges()
    assert second["id"] != challenge["id"]
    phone.answer(second["id"], "approve", shown_number(page.text))
    assert pocket.client.get(location).headers["location"].startswith(RP)


def test_fraud_fails_the_login_with_a_clear_page_and_an_audit_event(
    pocket: PocketEnv, phone: Phone
) -> None:
    location, _ = waiting_page(pocket)
    [challenge] = phone.challenges()
    assert phone.answer(challenge["id"], "deny", fraud=True).json() == {"status": "fraud"}
    page = pocket.client.get(location)
    assert page.status_code == 403
    assert "Login stopped" in page.text
    assert "this login was not you" in page.text
    back = re.search(r'<a class="button" href="([^"]+)"', page.text)
    assert back and "error=access_denied" in back.group(1).replace("&amp;", "&")
    events = pocket.audit()
    fraud = [e for e in events if e["event"] == "fraud"]
    assert fraud and fraud[0]["challenge_id"] == challenge["id"]
    assert fraud[0]["client_name"] == "Test RP"
    # the login is over
    assert pocket.client.get(location).status_code == 400


def test_a_wrong_number_fails_the_attempt(pocket: PocketEnv, phone: Phone) -> None:
    location, page = waiting_page(pocket)
    [challenge] = phone.challenges()
    wrong = next(n for n in challenge["numbers"] if n != shown_number(page.text))
    assert phone.answer(challenge["id"], "approve", wrong).json() == {"status": "wrong_number"}
    shown = pocket.client.get(location)
    assert shown.status_code == 200
    assert state_of(shown.text) == "wrong_number"
    assert "Send again" in shown.text
    events = [e["event"] for e in pocket.audit()]
    assert "wrong_number" in events


def test_an_expired_challenge_offers_to_send_again(pocket: PocketEnv, phone: Phone) -> None:
    location, page = waiting_page(pocket)
    [challenge] = phone.challenges()
    challenges = pocket.plugin.services.push.challenges
    challenges.clock = lambda: time.time() + challenges.config.challenge_ttl + 1
    try:
        assert pocket.client.get(wait_url_on(page.text)).json()["done"] is True
        expired = pocket.client.get(location)
        assert state_of(expired.text) == "expired"
        assert "not answered in time" in expired.text
        late = phone.answer(challenge["id"], "approve", shown_number(page.text))
        assert late.status_code == 410
        assert late.json()["error"] == "challenge_no_longer_valid"
    finally:
        challenges.clock = time.time
    again = form_post(pocket, location, expired.text, action="send")
    assert again.status_code == 303
    assert state_of(pocket.client.get(location).text) == "pending"


def test_push_bombing_is_capped(pocket: PocketEnv, phone: Phone) -> None:
    enroll_codes(pocket)
    location, page = waiting_page(pocket)
    limit = pocket.plugin.services.push.config.push_limit
    for _ in range(limit - 1):
        [challenge] = phone.challenges()
        phone.answer(challenge["id"], "deny")
        page = pocket.client.get(location)
        assert form_post(pocket, location, page.text, action="send").status_code == 303
    [challenge] = phone.challenges()
    phone.answer(challenge["id"], "deny")
    page = pocket.client.get(location)
    capped = form_post(pocket, location, page.text, action="send")
    assert capped.status_code == 429
    assert state_of(capped.text) == "limit"
    assert "Too many notifications" in capped.text
    assert main_action(capped.text) == ("a", "use-code", "Use a code")
    assert phone.challenges() == []
    events = [e["event"] for e in pocket.audit()]
    assert "push_limit" in events


def main_action(page_html: str) -> tuple[str, str, str]:
    """The page's primary action: the first of its buttons (element, id, text)."""
    buttons = page_html.split('<div class="buttons">', 1)[1]
    first = re.search(r'<(a|button) [^>]*id="([^"]+)"[^>]*>([^<]+)</\1>', buttons)
    assert first, buttons
    assert 'class="secondary"' not in first.group(0), first.group(0)
    return first.group(1), first.group(2), first.group(3).strip()


def enroll_codes(env: PocketEnv) -> list[str]:
    user = env.store.find_user("alice")
    codes: list[str] = env.run(env.plugin.services.recovery.issue, user.sub, 10)
    return codes


def test_use_a_code_instead(pocket: PocketEnv, phone: Phone) -> None:
    codes = enroll_codes(pocket)
    location, page = waiting_page(pocket)
    link = re.search(r'<a href="([^"]+)" id="use-code">Use a code instead</a>', page.text)
    assert link
    verify_page = pocket.client.get(link.group(1))
    assert "Enter one of your recovery codes." in verify_page.text
    assert f'href="{location}" id="use-push"' in verify_page.text
    response = form_post(pocket, link.group(1), verify_page.text, code=codes[0], action="next")
    assert response.status_code == 303 and response.headers["location"].startswith(RP)
    claims = id_token_claims(pocket, query_of(response.headers["location"])["code"])
    assert claims["amr"] == ["pwd", "otp", "mfa"]


def test_stop_ends_the_login_and_withdraws_the_push(pocket: PocketEnv, phone: Phone) -> None:
    location, page = waiting_page(pocket)
    [challenge] = phone.challenges()
    response = form_post(pocket, location, page.text, action="stop")
    assert response.status_code == 303
    assert "error=access_denied" in response.headers["location"]
    assert phone.challenges() == []
    late = phone.answer(challenge["id"], "approve", shown_number(page.text))
    assert late.status_code == 410
    assert late.json() == {
        "error": "challenge_no_longer_valid",
        "error_description": "this request is no longer valid: "
        "the login was stopped or has expired",
    }
    [withdrawn] = [e for e in pocket.audit() if e["event"] == "withdrawn"]
    assert withdrawn["challenge_id"] == challenge["id"] and withdrawn["reason"] == "stopped"


def test_send_again_withdraws_the_push_before(pocket: PocketEnv, phone: Phone) -> None:
    location, page = waiting_page(pocket)
    [first] = phone.challenges()
    assert main_action(page.text)[1] == "push-check"
    again = form_post(pocket, location, page.text, action="send")
    assert again.status_code == 303
    # the page that waited on the first push learns that it is over
    assert pocket.client.get(wait_url_on(page.text)).json()["done"] is True
    second_page = pocket.client.get(location)
    assert state_of(second_page.text) == "pending"
    [second] = phone.challenges()
    assert second["id"] != first["id"]
    assert phone.answer(first["id"], "approve", shown_number(page.text)).status_code == 410
    # the same form sent twice (a double click) sends nothing more
    twice = form_post(pocket, location, page.text, action="send")
    assert twice.status_code == 200 and state_of(twice.text) == "pending"
    assert [c["id"] for c in phone.challenges()] == [second["id"]]
    phone.answer(second["id"], "approve", shown_number(second_page.text))
    assert pocket.client.get(location).headers["location"].startswith(RP)
    events = [(e["event"], e.get("reason")) for e in pocket.audit()]
    assert events.count(("withdrawn", "sent_again")) == 1


def test_a_code_typed_instead_withdraws_the_push(pocket: PocketEnv, phone: Phone) -> None:
    codes = enroll_codes(pocket)
    location, page = waiting_page(pocket)
    [challenge] = phone.challenges()
    verify_url = location.replace("/push/", "/verify/")
    response = form_post(pocket, verify_url, page.text, code=codes[0], action="next")
    assert response.status_code == 303 and response.headers["location"].startswith(RP)
    assert phone.challenges() == []
    assert phone.answer(challenge["id"], "approve", shown_number(page.text)).status_code == 410


def test_four_approved_logins_in_a_minute_from_four_browsers(
    pocket: PocketEnv, phone: Phone
) -> None:
    limit = pocket.plugin.services.push.config.push_limit
    apps = [f"app{n}" for n in range(limit + 1)]
    for app in apps:
        pocket.add_client(client_id=app, name=f"App {app}", mfa="required")
    for app in apps:
        pocket.client.cookies.clear()  # another browser
        location = start(pocket, client_id=app)
        assert pocket.client.get(location).status_code == 303
        page = pocket.client.get(location)
        assert page.status_code == 200 and state_of(page.text) == "pending", page.text
        [challenge] = phone.challenges()
        assert challenge["client_name"] == f"App {app}"
        phone.answer(challenge["id"], "approve", shown_number(page.text))
        done = pocket.client.get(location)
        assert done.status_code == 303 and done.headers["location"].startswith(RP)
    assert "push_limit" not in [e["event"] for e in pocket.audit()]


def test_unanswered_pushes_reach_the_limit_and_the_page_leads_with_a_code(
    pocket: PocketEnv, phone: Phone
) -> None:
    enroll_codes(pocket)
    for _ in range(pocket.plugin.services.push.config.push_limit):
        pocket.client.cookies.clear()
        location, page = waiting_page(pocket)
        assert form_post(pocket, location, page.text, action="stop").status_code == 303
    pocket.client.cookies.clear()
    location = start(pocket)
    capped = pocket.client.get(location)
    assert capped.status_code == 429
    assert state_of(capped.text) == "limit"
    assert phone.challenges() == []
    kind, _, label = main_action(capped.text)
    assert (kind, label) == ("a", "Use a code")
    code_link = re.search(r'<a class="button" href="([^"]+)" id="use-code">', capped.text)
    assert code_link and code_link.group(1) == location.replace("/push/", "/verify/")
    assert pocket.client.get(code_link.group(1)).status_code == 200


def test_without_javascript_the_button_checks(pocket: PocketEnv, phone: Phone) -> None:
    location, page = waiting_page(pocket)
    pending = form_post(pocket, location, page.text, action="check")
    assert state_of(pending.text) == "pending"
    [challenge] = phone.challenges()
    phone.answer(challenge["id"], "approve", shown_number(page.text))
    done = form_post(pocket, location, page.text, action="check")
    assert done.status_code == 303 and done.headers["location"].startswith(RP)


@pytest.fixture
def enrolled_by_wizard(pocket: PocketEnv) -> Iterator[Phone]:
    enrolled = enroll_push(pocket, start(pocket))
    pocket.client.cookies.delete("idp_session")
    yield enrolled.phone


def test_a_user_from_the_wizard_logs_in_by_push(
    pocket: PocketEnv, enrolled_by_wizard: Phone
) -> None:
    location, page = waiting_page(pocket)
    assert 'id="use-code"' in page.text
    [challenge] = enrolled_by_wizard.challenges()
    enrolled_by_wizard.answer(challenge["id"], "approve", shown_number(page.text))
    assert pocket.client.get(location).headers["location"].startswith(RP)


def test_a_push_withdrawn_under_the_page_offers_to_send_again(
    pocket: PocketEnv, phone: Phone
) -> None:
    location, page = waiting_page(pocket)
    [shown] = phone.challenges()
    challenges = pocket.plugin.services.push.challenges
    challenge = pocket.run(challenges.get, shown["id"])
    assert pocket.run(challenges.withdraw, challenge, "sent_again") is True
    assert pocket.client.get(wait_url_on(page.text)).json()["done"] is True
    withdrawn = pocket.client.get(location)
    assert state_of(withdrawn.text) == "withdrawn"
    assert "This notification is no longer valid." in withdrawn.text
    assert main_action(withdrawn.text)[1] == "push-send"
    again = form_post(pocket, location, withdrawn.text, action="send")
    assert again.status_code == 303
    assert state_of(pocket.client.get(location).text) == "pending"


def test_the_limit_page_in_dutch_leads_with_a_code(pocket: PocketEnv, phone: Phone) -> None:
    enroll_codes(pocket)
    for _ in range(pocket.plugin.services.push.config.push_limit):
        pocket.client.cookies.clear()
        waiting_page(pocket)
        [challenge] = phone.challenges()
        phone.answer(challenge["id"], "deny")
    pocket.client.cookies.clear()
    capped = pocket.client.get(start(pocket, ui_locales="nl"))
    assert capped.status_code == 429
    assert "Er zijn in korte tijd te veel meldingen gestuurd" in capped.text
    assert main_action(capped.text) == ("a", "use-code", "Gebruik een code")
    assert ">Opnieuw sturen</button>" in capped.text
