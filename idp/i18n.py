"""Dutch and English texts, chosen by ui_locales, then Accept-Language, then English.

A message that counts something has plural forms: `key.one` and `key.other` (the CLDR
categories of both languages), chosen by the `count` it is given, which its text shows
as `{count}`: `t("login.locked", count=1)`.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

LOCALES = ("en", "nl")
DEFAULT_LOCALE = "en"

_messages: dict[str, dict[str, str]] = {locale: {} for locale in LOCALES}


def add_messages(folder: Path) -> None:
    """Load `<locale>.toml` files of `key = "text"` pairs, in tables or with dotted keys
    (plugins add their own)."""
    for locale in LOCALES:
        path = folder / f"{locale}.toml"
        if path.exists():
            with open(path, "rb") as fh:
                _messages[locale].update(_flatten(tomllib.load(fh)))


def _flatten(table: Mapping[str, object], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = str(value)
    return flat


def negotiate(ui_locales: str | None, accept_language: str | None) -> str:
    """ui_locales (space-separated, in order of preference) wins over Accept-Language."""
    for tag in (ui_locales or "").split():
        primary = tag.split("-")[0].lower()
        if primary in LOCALES:
            return primary
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate((accept_language or "").split(",")):
        pieces = part.strip().split(";")
        primary = pieces[0].strip().split("-")[0].lower()
        quality = 1.0
        for param in pieces[1:]:
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if primary in LOCALES and quality > 0:
            weighted.append((-quality, index, primary))
    return sorted(weighted)[0][2] if weighted else DEFAULT_LOCALE


def messages(locale: str) -> Mapping[str, str]:
    """Every text of one language, by key (plural forms as `key.one`, `key.other`)."""
    return MappingProxyType(_messages[locale])


def plural_category(count: int) -> str:
    """The CLDR plural category of `count` in English and in Dutch: "one" for exactly 1
    (a whole number), "other" for the rest, 0 included."""
    return "one" if count == 1 else "other"


class Translator:
    def __init__(self, locale: str) -> None:
        self.locale = locale if locale in LOCALES else DEFAULT_LOCALE

    def _text(self, key: str) -> str | None:
        return _messages[self.locale].get(key) or _messages[DEFAULT_LOCALE].get(key)

    def __call__(self, key: str, **values: object) -> str:
        text = self._text(key)
        if text is None:  # a message with plural forms, chosen by `count`
            count = values.get("count")
            category = plural_category(count) if isinstance(count, int) else "other"
            text = self._text(f"{key}.{category}") or self._text(f"{key}.other") or key
        return text.format(**values) if values else text


add_messages(Path(__file__).parent / "locales")
