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

#: the core's own texts
CORE_MESSAGES = Path(__file__).parent / "locales"


class Catalogue:
    """The texts of every language, by key: the core's, and those that the plugins of
    one provider add (FactorHost.add_messages). Each provider has its own."""

    def __init__(self) -> None:
        self._messages: dict[str, dict[str, str]] = {locale: {} for locale in LOCALES}
        self.add(CORE_MESSAGES)

    def add(self, folder: Path) -> None:
        """Load `<locale>.toml` files of `key = "text"` pairs, in tables or with dotted
        keys."""
        for locale in LOCALES:
            path = folder / f"{locale}.toml"
            if path.exists():
                with open(path, "rb") as fh:
                    self._messages[locale].update(_flatten(tomllib.load(fh)))

    def messages(self, locale: str) -> Mapping[str, str]:
        """Every text of one language, by key (plural forms as `key.one`, `key.other`)."""
        return MappingProxyType(self._messages[locale])


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


def plural_category(count: int) -> str:
    """The CLDR plural category of `count` in English and in Dutch: "one" for exactly 1
    (a whole number), "other" for the rest, 0 included."""
    return "one" if count == 1 else "other"


class Translator:
    """The texts of one language from `catalogue` (the core's alone by default), with
    English where a text is missing."""

    def __init__(self, locale: str, catalogue: Catalogue | None = None) -> None:
        self.locale = locale if locale in LOCALES else DEFAULT_LOCALE
        catalogue = catalogue if catalogue is not None else CORE
        self._own = catalogue.messages(self.locale)
        self._default = catalogue.messages(DEFAULT_LOCALE)

    def _text(self, key: str) -> str | None:
        return self._own.get(key) or self._default.get(key)

    def __call__(self, key: str, **values: object) -> str:
        text = self._text(key)
        if text is None:  # a message with plural forms, chosen by `count`
            count = values.get("count")
            category = plural_category(count) if isinstance(count, int) else "other"
            text = self._text(f"{key}.{category}") or self._text(f"{key}.other") or key
        return text.format(**values) if values else text


#: the core's texts, and nothing else: never added to
CORE = Catalogue()
