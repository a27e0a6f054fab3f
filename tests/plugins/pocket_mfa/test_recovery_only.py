"""A user whose only codes are recovery codes (a phone, no authenticator app) is asked for
a recovery code, never for "the code that the app shows"."""

from __future__ import annotations

import re

import pytest

from tests.conftest import RP
from tests.plugins.pocket_mfa.conftest import PocketEnv, form_post, paired_phone, start
from tests.plugins.pocket_mfa.push.conftest import Phone

MANAGE = "/factors/pocket/manage"
ASK_RECOVERY = {
    "en": "That code is not right. Enter one of your recovery codes",
    "nl": "Deze code klopt niet. Vul een van je herstelcodes in",
}
ASK_APP = {"en": "the app shows now", "nl": "die de app nu toont"}
LABEL = {"en": "One of your recovery codes", "nl": "Een van je herstelcodes"}
APP_LABEL = {"en": "authenticator app", "nl": "authenticatie-app"}
REMOVE_HINT = {
    "en": "To remove it, enter one of your recovery codes.",
    "nl": "Vul een van je herstelcodes in om hem te verwijderen.",
}


def phone_and_codes(env: PocketEnv) -> Phone:
    phone = paired_phone(env)
    user = env.store.find_user("alice")
    env.run(env.plugin.services.recovery.issue, user.sub, 10)
    return phone


@pytest.mark.parametrize("locale", ["en", "nl"])
def test_the_code_step_asks_for_a_recovery_code(pocket: PocketEnv, locale: str) -> None:
    phone_and_codes(pocket)
    verify_url = start(pocket, ui_locales=locale).replace("/push/", "/verify/")
    page = pocket.client.get(verify_url)
    assert page.status_code == 200
    refused = form_post(pocket, verify_url, page.text, code="aaaaa-aaaaa", action="next")
    assert refused.status_code == 400
    assert ASK_RECOVERY[locale] in refused.text
    assert ASK_APP[locale] not in refused.text


@pytest.mark.parametrize("locale", ["en", "nl"])
def test_the_account_pages_ask_for_a_recovery_code(pocket: PocketEnv, locale: str) -> None:
    phone = phone_and_codes(pocket)
    location = start(pocket)
    pocket.client.get(location)  # the push is sent
    page = pocket.client.get(location).text
    [challenge] = phone.challenges()
    number = re.search(r'id="push-number"[^>]*>(\d+)<', page)
    assert number
    phone.answer(challenge["id"], "approve", int(number.group(1)))
    assert pocket.client.get(location).headers["location"].startswith(RP)

    headers = {"accept-language": locale}
    manage = pocket.client.get(MANAGE, headers=headers).text
    assert LABEL[locale] in manage and APP_LABEL[locale] not in manage.split('id="current"')[0]
    refused = pocket.client.post(
        MANAGE,
        data={"csrf": _csrf(manage), "action": "codes", "current": "aaaaa-aaaaa"},
        headers=headers,
    )
    assert refused.status_code == 400
    assert ASK_RECOVERY[locale] in refused.text and ASK_APP[locale] not in refused.text

    remove_url = f"{MANAGE}/remove/{phone.device_id}"
    remove = pocket.client.get(remove_url, headers=headers).text
    assert REMOVE_HINT[locale] in remove and LABEL[locale] in remove
    refused = pocket.client.post(
        remove_url,
        data={"csrf": _csrf(remove), "action": "remove", "current": "aaaaa-aaaaa"},
        headers=headers,
    )
    assert refused.status_code == 400
    assert ASK_RECOVERY[locale] in refused.text and ASK_APP[locale] not in refused.text


def _csrf(page_html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page_html)
    assert found, page_html
    return found.group(1)
