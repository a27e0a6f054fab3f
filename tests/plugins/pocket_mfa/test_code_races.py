"""Codes sent all at once get no more checks than `max_failures` allows."""

from __future__ import annotations

from pathlib import Path

import httpx
import pyotp

from tests.conftest import PASSWORD, RP, hidden_inputs
from tests.served_idp import post_at_once, served_idp


def test_parallel_wrong_codes_check_no_more_than_max_failures(tmp_path: Path) -> None:
    with (
        served_idp(tmp_path, IDP_FACTORS_ENABLED="pocket") as (url, env),
        httpx.Client(base_url=url) as browser,
    ):
        env.add_client(mfa="required")
        user = env.add_user()
        services = env.provider.plugins["pocket"].services
        secret = pyotp.random_base32()
        env.run(services.enrollments.save_totp, user.sub, secret)

        query = {"response_type": "code", "client_id": "rp", "redirect_uri": RP, "scope": "openid"}
        login_url = browser.get("/authorize", params=query).headers["location"]
        fields = hidden_inputs(browser.get(login_url).text)
        answer = browser.post(login_url, data={**fields, "username": "alice", "password": PASSWORD})
        verify_url = answer.headers["location"]
        assert verify_url.startswith("/factors/pocket/verify/"), verify_url
        fields = hidden_inputs(browser.get(verify_url).text)
        right = pyotp.TOTP(secret).now()
        wrong = str((int(right) + 500_000) % 1_000_000).zfill(6)
        forms = [{**fields, "code": wrong, "action": "next"}] * 30
        statuses = post_at_once(url, browser.cookies, verify_url, forms)
        after = post_at_once(url, browser.cookies, verify_url, [{**fields, "code": right}])

    # the fifth failure already answers that the codes are locked
    assert sorted(statuses) == [400] * 4 + [429] * 26
    assert after == [429]
    assert env.store.records("pocket").count(f"fail:{user.sub}") == 5
