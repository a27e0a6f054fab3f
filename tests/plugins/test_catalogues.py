"""The plugins' message catalogues (plugins/*/locales): English and Dutch have the same
keys, and every key is one that a template or module of the plugin asks for."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from idp.i18n import LOCALES, _flatten

PLUGINS = Path(__file__).parents[2] / "plugins"
CATALOGUED = sorted(p.parent.parent for p in PLUGINS.glob("*/locales/en.toml"))
#: a key asked for with a part filled in at run time: t(f"passkeys.error.{reason}")
_BUILT = re.compile(r"""f["']([\w.]+)\.\{""")
_PLURAL = re.compile(r"\.(one|other)$")


def _keys(plugin: Path, locale: str) -> set[str]:
    with open(plugin / "locales" / f"{locale}.toml", "rb") as fh:
        return set(_flatten(tomllib.load(fh)))


def _sources(plugin: Path) -> str:
    files = [*plugin.rglob("*.py"), *plugin.rglob("*.html")]
    return "\n".join(path.read_text(encoding="utf-8") for path in files)


@pytest.mark.parametrize("plugin", CATALOGUED, ids=lambda p: p.name)
def test_every_language_has_the_same_keys(plugin: Path) -> None:
    english = _keys(plugin, "en")
    for locale in LOCALES:
        assert _keys(plugin, locale) == english, locale


@pytest.mark.parametrize("plugin", CATALOGUED, ids=lambda p: p.name)
def test_every_key_is_used(plugin: Path) -> None:
    sources = _sources(plugin)
    built = set(_BUILT.findall(sources))
    unused = []
    for key in sorted(_keys(plugin, "en")):
        asked = _PLURAL.sub("", key)  # t("key", count=n) picks key.one or key.other
        quoted = f'"{asked}"' in sources or f"'{asked}'" in sources
        if not quoted and asked.rpartition(".")[0] not in built:
            unused.append(key)
    assert unused == []


def test_the_catalogues_are_found() -> None:
    assert {p.name for p in CATALOGUED} >= {"pocket_mfa", "passkeys"}
