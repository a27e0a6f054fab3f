"""The wizard's install page links to the Pocket app in both stores, at the addresses of
[plugins.pocket] app_store_url and play_store_url."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from idp.app import create_app
from plugins.pocket_mfa.config import PocketConfig, load_config
from plugins.pocket_mfa.errors import PocketConfigError
from tests.conftest import ISSUER
from tests.html_page import elements
from tests.plugins.pocket_mfa.conftest import (
    Clock,
    PocketEnv,
    form_post,
    pocket_settings,
    start,
    wizard_url,
)

APP_STORE = "https://apps.apple.com/app/pocket/id123456789"


@contextmanager
def pocket_with(tmp_path: Path, table: dict[str, Any]) -> Iterator[PocketEnv]:
    settings = replace(pocket_settings(tmp_path), plugins={"pocket": table})
    with TestClient(create_app(settings), base_url=ISSUER, follow_redirects=False) as client:
        env = PocketEnv(client.app, client, settings, Clock())
        env.add_client(mfa="required")
        env.add_user()
        yield env


def store_links(env: PocketEnv, **params: str) -> dict[str, tuple[str, str]]:
    """The install page's store links: id -> (address, text)."""
    location = start(env, **params)
    choose = env.client.get(location)
    form_post(env, location, choose.text, action="next", method="pocket:push")
    page = env.client.get(wizard_url(location) + "/install")
    assert page.status_code == 200, page.text
    return {
        link.attributes["id"]: (link.attributes["href"], " ".join(link.text.split()))
        for link in elements(page.text, "a")
        if link.attributes.get("class") == "store"
    }


def test_both_stores_are_linked_and_say_they_open_a_new_tab(pocket: PocketEnv) -> None:
    assert store_links(pocket) == {
        "app-store": (
            PocketConfig.app_store_url,
            "Download on the App Store (opens in a new tab)",
        ),
        "play-store": (
            PocketConfig.play_store_url,
            "Get it on Google Play (opens in a new tab)",
        ),
    }


def test_the_links_speak_dutch(pocket: PocketEnv) -> None:
    links = store_links(pocket, ui_locales="nl")
    assert [text for _, text in links.values()] == [
        "Download in de App Store (opent in een nieuw tabblad)",
        "Ontdek het op Google Play (opent in een nieuw tabblad)",
    ]


def test_a_configured_listing_is_linked_and_an_empty_one_is_left_out(tmp_path: Path) -> None:
    with pocket_with(tmp_path, {"app_store_url": APP_STORE, "play_store_url": ""}) as env:
        links = store_links(env)
    assert {name: href for name, (href, _) in links.items()} == {"app-store": APP_STORE}


def test_a_store_address_must_be_https() -> None:
    table = {"app_store_url": "http://apps.example/pocket", "play_store_url": 7}
    with pytest.raises(PocketConfigError) as raised:
        load_config(table, environ={})
    message = str(raised.value)
    assert "plugins.pocket.app_store_url: must be an https:// URL" in message
    assert "plugins.pocket.play_store_url: expected a string" in message
