"""Texts for people, German first, English with ``?lang=en``.

All page texts come from one catalog per language (``kiosk_templates/i18n/*.json``); the
templates and the JS module only use keys. A key missing in English falls back to German.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

LANGUAGES = ("de", "en")
DEFAULT = "de"


@cache
def catalog(lang: str) -> dict[str, str]:
    files = resources.files("kiosk_templates") / "i18n"
    base: dict[str, str] = json.loads((files / f"{DEFAULT}.json").read_text("utf-8"))
    if lang != DEFAULT:
        base = {**base, **json.loads((files / f"{lang}.json").read_text("utf-8"))}
    return base


def pick_language(query_lang: str | None) -> str:
    return query_lang if query_lang in LANGUAGES else DEFAULT


class Translator:
    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.texts = catalog(lang)

    def __call__(self, key: str, **params: Any) -> str:
        text = self.texts.get(key, key)
        return text.format(**params) if params else text

    def wait(self, seconds: int | None) -> str:
        """A wait as a person says it: "ca. 15 Min.", "sofort", "unbekannt"."""
        if seconds is None:
            return self("wait.unknown")
        if seconds < 60:
            return self("wait.now")
        minutes = -(-seconds // 60)
        if minutes > 15:
            minutes = -(-minutes // 5) * 5  # "ca. 35 Min." reads better than "ca. 33 Min."
        return self("wait.minutes", n=minutes)
