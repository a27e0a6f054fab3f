"""Texts belong to a provider: a plugin's messages are added to the catalogue of the
provider that set it up, never to a table the whole process shares."""

from __future__ import annotations

from pathlib import Path

from idp.app import create_app
from idp.i18n import CORE, Translator
from tests.conftest import make_settings


def test_each_provider_has_the_texts_of_its_own_plugins(tmp_path: Path) -> None:
    with_pocket = create_app(
        make_settings(tmp_path / "a", IDP_FACTORS_ENABLED="pocket")
    ).state.provider
    with_passkeys = create_app(
        make_settings(tmp_path / "b", IDP_FACTORS_ENABLED="passkeys")
    ).state.provider

    pocket_texts = with_pocket.pages.catalogue.messages("nl")
    passkeys_texts = with_passkeys.pages.catalogue.messages("nl")
    assert any(key.startswith("pocket.") for key in pocket_texts)
    assert not any(key.startswith("passkeys.") for key in pocket_texts)
    assert any(key.startswith("passkeys.") for key in passkeys_texts)
    assert not any(key.startswith("pocket.") for key in passkeys_texts)
    # the core's own texts are in both, and the core's catalogue holds nothing else
    assert pocket_texts["button.next"] == passkeys_texts["button.next"] == "Volgende"
    assert not any(key.startswith(("pocket.", "passkeys.")) for key in CORE.messages("nl"))
    # a translator of a provider finds its plugin's texts; one of the core's says the key
    key = next(key for key in pocket_texts if key.startswith("pocket."))
    assert with_pocket.pages.translator("nl")(key) == pocket_texts[key]
    assert Translator("nl")(key) == key
