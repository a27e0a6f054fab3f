"""Pocket devices on the manage page: listed, removed (after a confirmation that names the
phone, with the current factor), added."""

from __future__ import annotations

import re
from html import unescape

import pytest

from plugins.pocket_mfa import manage
from plugins.pocket_mfa.push.protocol import parse_pairing_uri
from tests.conftest import RP, hidden_inputs, login
from tests.plugins.pocket_mfa.conftest import (
    EnrolledPush,
    PocketEnv,
    enroll_push,
    form_post,
    new_phone,
    paired_phone,
    pairing_uri_on,
    start,
    wait_url_on,
)

MANAGE = "/factors/pocket/manage"


def enrolled(env: PocketEnv) -> EnrolledPush:
    return enroll_push(env, start(env), name="Pixel 8")


def device_ids(page_html: str) -> list[str]:
    return re.findall(r'<li data-device="([^"]+)">', page_html)


def remove_link(page_html: str, device_id: str) -> str:
    found = re.search(rf'<a class="button secondary" href="([^"]+/remove/{device_id})"', page_html)
    assert found, page_html
    return found.group(1)


def notice_on(page_html: str) -> str:
    found = re.search(r'<p class="notice" role="status" id="removed-notice">([^<]+)</p>', page_html)
    assert found, page_html
    return unescape(found.group(1))


def test_the_page_lists_the_devices(pocket: PocketEnv) -> None:
    first = enrolled(pocket)
    page = pocket.client.get(MANAGE)
    assert page.status_code == 200
    assert device_ids(page.text) == [first.phone.device_id]
    assert "Pixel 8" in page.text
    assert re.search(r"linked 20\d\d-\d\d-\d\d \d\d:\d\d · last used 20\d\d", page.text)
    assert "Link another phone" in page.text
    assert 'href="/factors/pocket/static/pocket.css"' in page.text.split("</head>")[0]


def test_removing_a_device_is_confirmed_and_takes_the_current_factor(pocket: PocketEnv) -> None:
    first = enrolled(pocket)
    device_id = first.phone.device_id
    page = pocket.client.get(MANAGE)
    assert 'aria-label="Remove Pixel 8"' in page.text
    confirm_url = remove_link(page.text, device_id)
    confirm = pocket.client.get(confirm_url)
    assert confirm.status_code == 200
    assert "<h1>Remove this phone?</h1>" in confirm.text
    assert "&#34;Pixel 8&#34; will no longer be linked to your account." in confirm.text
    assert re.search(
        r'<button type="submit" name="action" value="remove" id="remove-confirm">'
        r"Remove</button>",
        confirm.text,
    )
    assert 'value="cancel" class="secondary" id="remove-cancel">Cancel</button>' in confirm.text
    # asking removes nothing
    user = pocket.store.find_user("alice")
    assert len(pocket.run(pocket.plugin.services.push.devices.list, user.sub)) == 1
    refused = form_post(pocket, confirm_url, confirm.text, action="remove", current="")
    assert refused.status_code == 400
    assert "That code is not right" in refused.text
    assert "&#34;Pixel 8&#34; will no longer be linked" in refused.text
    removed = form_post(pocket, confirm_url, refused.text, action="remove", current=first.codes[0])
    assert removed.status_code == 303
    assert removed.headers["location"].startswith(f"{MANAGE}?done=removed&phone=")
    page = pocket.client.get(removed.headers["location"])
    assert notice_on(page.text) == '"Pixel 8" is no longer linked to your account.'
    assert device_ids(page.text) == []
    assert pocket.run(pocket.plugin.services.push.devices.list, user.sub) == []
    [event] = [e for e in pocket.audit() if e["event"] == "device_removed"]
    assert event["device_id"] == device_id and event["name"] == "Pixel 8"
    # the page is gone with the phone
    assert pocket.client.get(confirm_url).headers["location"] == MANAGE
    # the removed phone is refused by the device API
    assert (
        first.phone.client.get(
            "/factors/pocket/api/v1/device", headers=first.phone.auth()
        ).status_code
        == 401
    )


def test_cancel_keeps_the_phone_and_the_code(pocket: PocketEnv) -> None:
    first = enrolled(pocket)
    confirm_url = remove_link(pocket.client.get(MANAGE).text, first.phone.device_id)
    confirm = pocket.client.get(confirm_url)
    cancelled = form_post(
        pocket, confirm_url, confirm.text, action="cancel", current=first.codes[0]
    )
    assert cancelled.status_code == 303 and cancelled.headers["location"] == MANAGE
    page = pocket.client.get(MANAGE)
    assert device_ids(page.text) == [first.phone.device_id]
    assert 'id="removed-notice"' not in page.text
    # the recovery code typed before a cancel is not used up
    confirm = pocket.client.get(confirm_url)
    removed = form_post(pocket, confirm_url, confirm.text, action="remove", current=first.codes[0])
    assert removed.status_code == 303


def test_removing_a_phone_in_dutch(pocket: PocketEnv) -> None:
    first = enrolled(pocket)
    dutch = {"accept-language": "nl"}
    confirm_url = remove_link(pocket.client.get(MANAGE).text, first.phone.device_id)
    confirm = pocket.client.get(confirm_url, headers=dutch)
    assert "<h1>Deze telefoon verwijderen?</h1>" in confirm.text
    assert "&#34;Pixel 8&#34; is dan niet meer gekoppeld aan je account" in confirm.text
    assert ">Verwijderen</button>" in confirm.text and ">Annuleren</button>" in confirm.text
    fields = {"action": "remove", "current": first.codes[0]}
    removed = pocket.client.post(
        confirm_url, data={**hidden_inputs(confirm.text), **fields}, headers=dutch
    )
    page = pocket.client.get(removed.headers["location"], headers=dutch)
    assert notice_on(page.text) == '"Pixel 8" is niet meer gekoppeld aan je account.'


def test_another_users_phone_cannot_be_removed(pocket: PocketEnv) -> None:
    enrolled(pocket)
    pocket.add_user("bob")
    bobs = paired_phone(pocket, "bob", name="Bob's phone")
    confirm_url = f"{MANAGE}/remove/{bobs.device_id}"
    assert pocket.client.get(confirm_url).headers["location"] == MANAGE
    mine = remove_link(pocket.client.get(MANAGE).text, enrolled_device(pocket))
    confirm = pocket.client.get(mine)
    response = form_post(pocket, confirm_url, confirm.text, action="remove")
    assert response.status_code == 303 and response.headers["location"] == MANAGE
    bob = pocket.store.find_user("bob")
    assert len(pocket.run(pocket.plugin.services.push.devices.list, bob.sub)) == 1


def enrolled_device(env: PocketEnv) -> str:
    user = env.store.find_user("alice")
    [device] = env.run(env.plugin.services.push.devices.list, user.sub)
    device_id: str = device.device_id
    return device_id


def test_forms_need_the_token_of_their_own_page(pocket: PocketEnv) -> None:
    first = enrolled(pocket)
    confirm_url = f"{MANAGE}/remove/{first.phone.device_id}"
    response = pocket.client.post(confirm_url, data={"action": "remove", "current": first.codes[0]})
    assert response.status_code == 403
    user = pocket.store.find_user("alice")
    assert len(pocket.run(pocket.plugin.services.push.devices.list, user.sub)) == 1


def test_a_remove_from_an_older_overview_asks_first(pocket: PocketEnv) -> None:
    first = enrolled(pocket)
    page = pocket.client.get(MANAGE)
    fields = {"remove": first.phone.device_id, "current": first.codes[0]}
    response = form_post(pocket, MANAGE, page.text, **fields)
    assert response.status_code == 303
    assert response.headers["location"] == f"{MANAGE}/remove/{first.phone.device_id}"
    user = pocket.store.find_user("alice")
    assert len(pocket.run(pocket.plugin.services.push.devices.list, user.sub)) == 1


def test_another_device_is_added_by_pairing(pocket: PocketEnv) -> None:
    first = enrolled(pocket)
    page = pocket.client.get(MANAGE)
    response = form_post(pocket, MANAGE, page.text, action="pocket", current=first.codes[1])
    assert response.status_code == 303
    pair_url = response.headers["location"]
    assert pair_url.startswith(f"{MANAGE}/pair/")
    pair = pocket.client.get(pair_url)
    assert "Tap to scan" in pair.text
    assert wait_url_on(pair.text) == f"{pair_url}/wait"
    _, token = parse_pairing_uri(pairing_uri_on(pair.text))
    second = new_phone(pocket)
    assert second.pair(token, "iPad").status_code == 201
    assert pocket.client.get(wait_url_on(pair.text)).json() == {"done": True, "next": pair_url}
    moved = pocket.client.get(pair_url)
    # the recovery codes of the first enrollment are kept: none are shown again
    assert moved.status_code == 303 and moved.headers["location"] == f"{MANAGE}?done=pocket"
    listed = pocket.client.get(moved.headers["location"])
    assert "Your phone is linked to Pocket." in listed.text
    # listed by pairing time (the same second here, then by id)
    assert sorted(device_ids(listed.text)) == sorted([first.phone.device_id, second.device_id])
    user = pocket.store.find_user("alice")
    kinds = [m.kind for m in pocket.run(pocket.plugin.methods, user)]
    assert kinds == ["pocket", "pocket", "recovery codes"]


def test_cancel_on_the_pairing_page_adds_nothing(pocket: PocketEnv) -> None:
    first = enrolled(pocket)
    page = pocket.client.get(MANAGE)
    response = form_post(pocket, MANAGE, page.text, action="pocket", current=first.codes[2])
    pair_url = response.headers["location"]
    pair = pocket.client.get(pair_url)
    cancelled = form_post(pocket, pair_url, pair.text, action="cancel")
    assert cancelled.headers["location"] == MANAGE
    assert pocket.client.get(pair_url).headers["location"] == MANAGE


def test_a_user_without_a_factor_adds_a_phone_and_gets_recovery_codes(
    pocket: PocketEnv,
) -> None:
    pocket.add_client(client_id="lax", mfa="optional")
    login(pocket, client_id="lax")
    page = pocket.client.get(MANAGE)
    assert 'name="current"' not in page.text
    response = form_post(pocket, MANAGE, page.text, action="pocket")
    pair_url = response.headers["location"]
    pair = pocket.client.get(pair_url)
    _, token = parse_pairing_uri(pairing_uri_on(pair.text))
    assert new_phone(pocket).pair(token).status_code == 201
    shown = pocket.client.get(pair_url)
    assert shown.status_code == 200
    assert shown.text.count("<li><code>") == 10


def test_reset_removes_the_devices(pocket: PocketEnv) -> None:
    enrolled(pocket)
    user = pocket.store.find_user("alice")
    assert pocket.run(pocket.plugin.is_enrolled, user)
    assert pocket.run(pocket.plugin.reset, user) == 1 + 10
    events = pocket.audit()
    assert [e["count"] for e in events if e["event"] == "devices_reset"] == [1]
    assert pocket.run(pocket.plugin.methods, user) == []
    assert not pocket.run(pocket.plugin.is_enrolled, user)


def test_a_phone_only_user_changes_factors_right_after_a_push_login(
    pocket: PocketEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    phone = paired_phone(pocket)  # no app, no recovery codes: nothing to type
    location = start(pocket)
    pocket.client.get(location)
    page = pocket.client.get(location)
    number = re.search(r'id="push-number"[^>]*>(\d+)<', page.text)
    assert number
    [challenge] = phone.challenges()
    phone.answer(challenge["id"], "approve", int(number.group(1)))
    assert pocket.client.get(location).headers["location"].startswith(RP)

    overview = pocket.client.get(MANAGE)
    assert 'id="fresh-push-hint"' in overview.text
    assert 'name="current"' not in overview.text
    confirm_url = remove_link(overview.text, phone.device_id)
    confirm = pocket.client.get(confirm_url)
    assert 'id="fresh-push-hint"' in confirm.text and 'name="current"' not in confirm.text
    monkeypatch.setattr(manage, "FRESH_PUSH", -1)  # the push login is long ago
    stale = form_post(pocket, confirm_url, confirm.text, action="remove")
    assert stale.status_code == 403
    # once the login is not recent, the phone confirms the change
    assert "Confirm this change on your phone" in stale.text
    assert 'id="remove-by-phone"' in stale.text and 'id="remove-confirm"' not in stale.text
    monkeypatch.undo()
    removed = form_post(pocket, confirm_url, stale.text, action="remove")
    assert removed.status_code == 303
    assert removed.headers["location"].startswith(f"{MANAGE}?done=removed&phone=")
