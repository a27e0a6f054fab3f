"""Confirming changes on the manage page with the phone: a push with number matching,
approved (the change is made, once), denied or tapped with the wrong number (nothing
changes), counted by the push limit; waiting by long-poll or, without a script, by
reloading."""

from __future__ import annotations

import re
from typing import Any

import pytest

from plugins.pocket_mfa import manage
from tests.conftest import RP, hidden_inputs
from tests.plugins.pocket_mfa.conftest import (
    PocketEnv,
    codes_on,
    enroll_push,
    form_post,
    paired_phone,
    start,
    wait_url_on,
)
from tests.plugins.pocket_mfa.push.conftest import Phone

MANAGE = "/factors/pocket/manage"


def push_login(env: PocketEnv, phone: Phone | None = None) -> Phone:
    """Alice, with a phone and nothing to type, logs in by approving a push."""
    phone = phone or paired_phone(env)
    location = start(env, prompt="login")
    env.client.get(location)
    page = env.client.get(location)
    [challenge] = phone.challenges()
    phone.answer(challenge["id"], "approve", shown_number(page.text))
    assert env.client.get(location).headers["location"].startswith(RP)
    return phone


@pytest.fixture
def phone_only(pocket: PocketEnv, monkeypatch: pytest.MonkeyPatch) -> Phone:
    """A phone-only user whose push login is no longer recent."""
    phone = push_login(pocket)
    monkeypatch.setattr(manage, "FRESH_PUSH", -1)
    return phone


def shown_number(page_html: str) -> int:
    found = re.search(r'id="push-number"[^>]*>(\d+)<', page_html)
    assert found, page_html
    return int(found.group(1))


def state_of(page_html: str) -> str:
    found = re.search(r'id="push-state" data-state="([a-z_]+)"', page_html)
    assert found, page_html
    return found.group(1)


def first_form(page_html: str) -> dict[str, str]:
    """The hidden fields of the page's first form."""
    return hidden_inputs(page_html.split("</form>", 1)[0])


def device_count(env: PocketEnv) -> int:
    user = env.store.find_user("alice")
    return len(env.run(env.plugin.services.push.devices.list, user.sub))


def ask_for(env: PocketEnv, action: str, **headers: str) -> tuple[str, Any]:
    """Ask for a change on the overview without a code: the confirmation step."""
    overview = env.client.get(MANAGE, headers=headers)
    response = form_post(env, MANAGE, overview.text, action=action)
    assert response.status_code == 303, response.text
    step_url = response.headers["location"]
    assert step_url.startswith(f"{MANAGE}/confirm/"), step_url
    return step_url, env.client.get(step_url, headers=headers)


def approve_on_phone(env: PocketEnv, step_url: str, step_html: str) -> tuple[str, Any]:
    """Press "Approve on your phone": the push is sent; the waiting page."""
    sent = env.client.post(step_url, data={**first_form(step_html), "action": "push"})
    assert sent.status_code == 303, sent.text
    waiting_url = sent.headers["location"]
    assert waiting_url.startswith("/factors/pocket/confirm/"), waiting_url
    page = env.client.get(waiting_url)
    assert page.status_code == 200, page.text
    assert state_of(page.text) == "pending"
    return waiting_url, page


def test_a_phone_only_user_approves_new_recovery_codes_on_the_phone(
    pocket: PocketEnv, phone_only: Phone
) -> None:
    overview = pocket.client.get(MANAGE)
    assert 'id="phone-confirm-hint"' in overview.text and 'name="current"' not in overview.text
    step_url, step = ask_for(pocket, "codes")
    assert '<p class="lead" id="change-what">Make new recovery codes</p>' in step.text
    assert ">Approve on your phone</button>" in step.text
    assert 'name="current"' not in step.text  # nothing to type
    waiting_url, page = approve_on_phone(pocket, step_url, step.text)
    number = shown_number(page.text)
    assert "Make new recovery codes" in page.text
    [challenge] = phone_only.challenges()
    assert challenge["client_name"] == "Make new recovery codes"
    assert number in challenge["numbers"] and len(challenge["numbers"]) == 3
    assert phone_only.answer(challenge["id"], "approve", number).json() == {"status": "approved"}
    assert pocket.client.get(wait_url_on(page.text)).json() == {"done": True, "next": waiting_url}
    approved = pocket.client.get(waiting_url)
    assert approved.status_code == 303
    confirmed_url = approved.headers["location"]
    assert confirmed_url.startswith(f"{MANAGE}/confirmed/")
    shown = pocket.client.get(confirmed_url)
    assert shown.status_code == 200, shown.text
    assert len(codes_on(shown.text)) == 10
    # made once: the approval and the change are used up
    again = pocket.client.get(confirmed_url)
    assert again.status_code == 303 and again.headers["location"] == MANAGE
    assert pocket.client.get(waiting_url).headers["location"] == "/account"


def test_a_removal_approved_on_the_phone_removes_it(pocket: PocketEnv) -> None:
    enrolled = enroll_push(pocket, start(pocket))  # a phone and recovery codes
    phone = enrolled.phone
    confirm_url = f"{MANAGE}/remove/{phone.device_id}"
    confirm = pocket.client.get(confirm_url)
    assert 'name="current"' in confirm.text  # a code works as before ...
    assert 'id="remove-by-phone"' in confirm.text  # ... and so does the phone
    sent = form_post(pocket, confirm_url, confirm.text, action="push")
    assert sent.status_code == 303
    waiting_url = sent.headers["location"]
    page = pocket.client.get(waiting_url)
    [challenge] = phone.challenges()
    assert challenge["client_name"] == "Remove Pixel 8"
    phone.answer(challenge["id"], "approve", shown_number(page.text))
    confirmed = pocket.client.get(pocket.client.get(waiting_url).headers["location"])
    assert confirmed.status_code == 303
    assert confirmed.headers["location"].startswith(f"{MANAGE}?done=removed&phone=")
    assert device_count(pocket) == 0
    # no recovery code was used for it
    user = pocket.store.find_user("alice")
    left, _ = pocket.run(pocket.plugin.services.recovery.remaining, user.sub)
    assert left == 10


@pytest.mark.parametrize("answer", ["deny", "wrong_number", "fraud"])
def test_a_push_not_approved_changes_nothing(
    pocket: PocketEnv, phone_only: Phone, answer: str
) -> None:
    confirm_url = f"{MANAGE}/remove/{phone_only.device_id}"
    confirm = pocket.client.get(confirm_url)
    assert 'id="remove-confirm"' not in confirm.text  # no code: only the phone confirms
    sent = form_post(pocket, confirm_url, confirm.text, action="push")
    waiting_url = sent.headers["location"]
    page = pocket.client.get(waiting_url)
    number = shown_number(page.text)
    [challenge] = phone_only.challenges()
    if answer == "wrong_number":
        wrong = next(n for n in challenge["numbers"] if n != number)
        assert phone_only.answer(challenge["id"], "approve", wrong).status_code == 200
    else:
        phone_only.answer(challenge["id"], "deny", fraud=answer == "fraud")
    assert pocket.client.get(wait_url_on(page.text)).json()["done"] is True
    ended = pocket.client.get(waiting_url)
    assert ended.status_code == 200
    assert state_of(ended.text) == {"deny": "denied"}.get(answer, answer)
    assert "othing was changed" in ended.text
    assert device_count(pocket) == 1
    # the change's own address does nothing without an approval
    [(change_id, _)] = pocket.run(pocket.plugin.services.records.find_since, "change", 0)
    refused = pocket.client.get(f"{MANAGE}/confirmed/{change_id}")
    assert refused.status_code == 303 and refused.headers["location"] == confirm_url
    assert device_count(pocket) == 1


def test_cancel_withdraws_the_push_and_changes_nothing(
    pocket: PocketEnv, phone_only: Phone
) -> None:
    step_url, step = ask_for(pocket, "codes")
    waiting_url, page = approve_on_phone(pocket, step_url, step.text)
    cancelled = form_post(pocket, waiting_url, page.text, action="cancel")
    assert cancelled.status_code == 303 and cancelled.headers["location"] == step_url
    assert phone_only.challenges() == []
    assert "withdrawn" in [e["event"] for e in pocket.audit()]


def test_without_javascript_the_waiting_page_reloads_and_checks(
    pocket: PocketEnv, phone_only: Phone
) -> None:
    step_url, step = ask_for(pocket, "app")
    waiting_url, page = approve_on_phone(pocket, step_url, step.text)
    head = page.text.split("</head>", 1)[0]
    assert '<noscript><meta http-equiv="refresh" content="5"></noscript>' in head
    still = form_post(pocket, waiting_url, page.text, action="check")
    assert still.status_code == 200 and state_of(still.text) == "pending"
    [challenge] = phone_only.challenges()
    phone_only.answer(challenge["id"], "approve", shown_number(page.text))
    checked = form_post(pocket, waiting_url, still.text, action="check")
    assert checked.status_code == 303
    made = pocket.client.get(checked.headers["location"])
    assert made.status_code == 303 and made.headers["location"].startswith(f"{MANAGE}/app/")


def test_confirmation_pushes_count_against_the_push_limit(
    pocket: PocketEnv, phone_only: Phone
) -> None:
    step_url, step = ask_for(pocket, "codes")
    waiting_url, page = approve_on_phone(pocket, step_url, step.text)
    for _ in range(pocket.plugin.services.push.config.push_limit - 1):
        again = form_post(pocket, waiting_url, page.text, action="send")
        assert again.status_code == 303
        page = pocket.client.get(waiting_url)
    capped = form_post(pocket, waiting_url, page.text, action="send")
    assert capped.status_code == 429
    assert state_of(capped.text) == "limit"
    assert "Too many notifications" in capped.text
    # the same limit holds for a login's push
    pocket.client.cookies.delete("idp_session")
    location = start(pocket, prompt="login")
    assert pocket.client.get(location).status_code == 429


def test_another_session_cannot_take_the_approval(pocket: PocketEnv, phone_only: Phone) -> None:
    step_url, step = ask_for(pocket, "codes")
    waiting_url, page = approve_on_phone(pocket, step_url, step.text)
    [challenge] = phone_only.challenges()
    phone_only.answer(challenge["id"], "approve", shown_number(page.text))
    mine = dict(pocket.client.cookies)
    pocket.client.cookies.clear()
    push_login(pocket, phone_only)  # the same user, another browser and SSO session
    assert pocket.client.get(waiting_url).headers["location"] == "/account"
    pocket.client.cookies.clear()
    pocket.client.cookies.update(mine)
    confirmed = pocket.client.get(pocket.client.get(waiting_url).headers["location"])
    assert confirmed.status_code == 200 and len(codes_on(confirmed.text)) == 10


def test_the_confirmation_step_in_dutch(pocket: PocketEnv, phone_only: Phone) -> None:
    dutch = {"accept-language": "nl"}
    step_url, step = ask_for(pocket, "pocket", **dutch)
    assert "<h1>Deze wijziging bevestigen</h1>" in step.text
    assert '<p class="lead" id="change-what">Nog een telefoon koppelen</p>' in step.text
    assert ">Akkoord geven op je telefoon</button>" in step.text
    fields = {**first_form(step.text), "action": "push"}
    sent = pocket.client.post(step_url, data=fields, headers=dutch)
    page = pocket.client.get(sent.headers["location"], headers=dutch)
    assert "Geef akkoord om deze wijziging te bevestigen" in page.text
    [challenge] = phone_only.challenges()
    assert challenge["client_name"] == "Nog een telefoon koppelen"
    phone_only.answer(challenge["id"], "deny")
    denied = pocket.client.get(sent.headers["location"], headers=dutch)
    assert "De wijziging is geweigerd in Pocket. Er is niets gewijzigd." in denied.text


def test_a_code_still_confirms_on_the_step_page(pocket: PocketEnv) -> None:
    enrolled = enroll_push(pocket, start(pocket))
    step_url, step = ask_for(pocket, "codes")
    assert 'name="current"' in step.text
    wrong = form_post(pocket, step_url, step.text, action="code", current="000000")
    assert wrong.status_code == 400 and "That code is not right" in wrong.text
    shown = form_post(pocket, step_url, wrong.text, action="code", current=enrolled.codes[0])
    assert shown.status_code == 200 and len(codes_on(shown.text)) == 10
    assert enrolled.phone.challenges() == []  # no push was sent
