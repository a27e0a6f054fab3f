"""Dutch and English texts, chosen by ui_locales, then Accept-Language, then English."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path

LOCALES = ("en", "nl")
DEFAULT_LOCALE = "en"

_messages: dict[str, dict[str, str]] = {locale: {} for locale in LOCALES}


def add_messages(folder: Path) -> None:
    """Load `<locale>.toml` files of flat `key = "text"` pairs (plugins add their own)."""
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


class Translator:
    def __init__(self, locale: str) -> None:
        self.locale = locale if locale in LOCALES else DEFAULT_LOCALE

    def __call__(self, key: str, **values: object) -> str:
        text = _messages[self.locale].get(key) or _messages[DEFAULT_LOCALE].get(key, key)
        return text.format(**values) if values else text


add_messages(Path(__file__).parent / "locales")
