"""[plugins.pocket.push]: typed, checked as a whole, the webhook secret from the env."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from idp.app import create_app
from plugins.pocket_mfa.config import WEBHOOK_SECRET_ENV, load_config
from plugins.pocket_mfa.errors import PocketConfigError
from plugins.pocket_mfa.push.config import PushConfig
from plugins.pocket_mfa.push.webhook import WebhookNotifier, sign
from tests.conftest import ISSUER, RP
from tests.plugins.pocket_mfa.conftest import (
    Clock,
    PocketEnv,
    paired_phone,
    pocket_settings,
    start,
)
from tests.plugins.pocket_mfa.push.conftest import serve
from tests.plugins.pocket_mfa.push.test_webhook import SECRET, Relay


def test_the_defaults() -> None:
    assert load_config({}, environ={}).push == PushConfig()
    assert PushConfig().number_matching is True


def test_values_are_read() -> None:
    table = {"push": {"challenge_ttl": 60, "number_matching": False, "push_limit": 5}}
    push = load_config(table, environ={}).push
    assert (push.challenge_ttl, push.number_matching, push.push_limit) == (60, False, 5)


def test_every_problem_is_named_at_once() -> None:
    table = {
        "digits": 9,
        "push": {
            "challenge_ttl": 0,
            "number_matching": "yes",
            "bogus": 1,
            "webhook_url": "https://relay.example/push",
        },
    }
    with pytest.raises(PocketConfigError) as raised:
        load_config(table, environ={})
    message = str(raised.value)
    for part in (
        "plugins.pocket.digits",
        "plugins.pocket.push.challenge_ttl",
        "plugins.pocket.push.number_matching",
        "plugins.pocket.push.bogus: unknown setting",
        "plugins.pocket.push.webhook_secret: required",
    ):
        assert part in message, part


def test_the_push_table_must_be_a_table() -> None:
    with pytest.raises(PocketConfigError, match=r"plugins\.pocket\.push: expected a table"):
        load_config({"push": 3}, environ={})


def test_the_webhook_secret_may_come_from_the_environment() -> None:
    table = {"push": {"webhook_url": "https://relay.example/push"}}
    push = load_config(table, environ={WEBHOOK_SECRET_ENV: "s3cret"}).push
    assert (push.webhook_url, push.webhook_secret) == ("https://relay.example/push", "s3cret")


@contextmanager
def pocket_with(tmp_path: Path, push: dict[str, Any]) -> Iterator[PocketEnv]:
    settings = replace(pocket_settings(tmp_path), plugins={"pocket": {"push": push}})
    with TestClient(create_app(settings), base_url=ISSUER, follow_redirects=False) as client:
        env = PocketEnv(client.app, client, settings, Clock())
        env.add_client(mfa="required")
        env.add_user()
        yield env


def test_the_plugin_posts_to_the_configured_relay(tmp_path: Path) -> None:
    push = {"webhook_url": "https://relay.example/push", "webhook_secret": "s3cret"}
    with pocket_with(tmp_path, push) as env:
        [notifier] = env.plugin.services.push.challenges.notifiers
        assert isinstance(notifier, WebhookNotifier)
        assert notifier.url == "https://relay.example/push"


def test_without_number_matching_the_phone_just_approves(tmp_path: Path) -> None:
    with pocket_with(tmp_path, {"number_matching": False}) as env:
        phone = paired_phone(env)
        location = start(env)
        env.client.get(location)
        page = env.client.get(location)
        assert 'id="push-number"' not in page.text
        [challenge] = phone.challenges()
        assert challenge["numbers"] is None
        assert phone.answer(challenge["id"], "approve").json() == {"status": "approved"}
        assert env.client.get(location).headers["location"].startswith(RP)


def test_a_push_login_posts_a_signed_message_to_the_relay(tmp_path: Path) -> None:
    relay = Relay()
    with serve(relay.app):
        push = {"webhook_url": relay.url, "webhook_secret": SECRET}
        with pocket_with(tmp_path, push) as env:
            phone = paired_phone(env)
            location = start(env)
            env.client.get(location)
            [notifier] = env.plugin.services.push.challenges.notifiers
            assert isinstance(notifier, WebhookNotifier)
            deadline = time.monotonic() + 5
            while (notifier.under_way or not relay.received) and time.monotonic() < deadline:
                time.sleep(0.02)
    [(body, signature)] = relay.received
    assert signature == sign(SECRET, body)
    message = json.loads(body)
    assert message["type"] == "challenge" and message["device_id"] == phone.device_id
    assert message["challenge_id"].startswith("ch_")
