"""Pocket devices on the manage page: listed, removed (with the current factor), added."""

from __future__ import annotations

import re

import pytest

from plugins.pocket_mfa import manage
from plugins.pocket_mfa.push.protocol import parse_pairing_uri
from tests.conftest import RP, login
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


def test_the_page_lists_the_devices(pocket: PocketEnv) -> None:
    first = enrolled(pocket)
    page = pocket.client.get(MANAGE)
    assert page.status_code == 200
    assert device_ids(page.text) == [first.phone.device_id]
    assert "Pixel 8" in page.text
    assert re.search(r"linked 20\d\d-\d\d-\d\d \d\d:\d\d · last used 20\d\d", page.text)
    assert "Link another phone" in page.text
    assert 'href="/factors/pocket/static/pocket.css"' in page.text.split("</head>")[0]


def test_removing_a_device_takes_the_current_factor(pocket: PocketEnv) -> None:
    first = enrolled(pocket)
    device_id = first.phone.device_id
    page = pocket.client.get(MANAGE)
    refused = form_post(pocket, MANAGE, page.text, remove=device_id, current="")
    assert refused.status_code == 400
    assert "That code is not right" in refused.text
    assert device_ids(refused.text) == [device_id]
    removed = form_post(pocket, MANAGE, refused.text, remove=device_id, current=first.codes[0])
    assert removed.status_code == 303
    assert removed.headers["location"] == f"{MANAGE}?done=removed"
    page = pocket.client.get(removed.headers["location"])
    assert "The phone is no longer linked." in page.text
    assert device_ids(page.text) == []
    user = pocket.store.find_user("alice")
    assert pocket.run(pocket.plugin.services.push.devices.list, user.sub) == []
    events = [e["event"] for e in pocket.audit()]
    assert "device_removed" in events
    # the removed phone is refused by the device API
    assert (
        first.phone.client.get(
            "/factors/pocket/api/v1/device", headers=first.phone.auth()
        ).status_code
        == 401
    )


def test_forms_need_the_token_of_their_own_page(pocket: PocketEnv) -> None:
    first = enrolled(pocket)
    response = pocket.client.post(
        MANAGE, data={"remove": first.phone.device_id, "current": first.codes[0]}
    )
    assert response.status_code == 403
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
    monkeypatch.setattr(manage, "FRESH_PUSH", -1)  # the push login is long ago
    stale = form_post(pocket, MANAGE, overview.text, remove=phone.device_id)
    assert stale.status_code == 403
    assert "log in again with Pocket first" in stale.text
    monkeypatch.undo()
    removed = form_post(pocket, MANAGE, stale.text, remove=phone.device_id)
    assert removed.status_code == 303
    assert removed.headers["location"] == f"{MANAGE}?done=removed"
