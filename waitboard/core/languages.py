"""The languages people read waitboard in.

The citizen pages speak the languages of a Jobcenter's waiting zone; the staff pages
German and English. ``ls`` is Leichte Sprache, German in easy words: it renders as
``lang="de"`` with German formats, from a catalog of its own.
"""

from __future__ import annotations

#: German first: the office's default and the fallback of every other language.
DEFAULT = "de"
CITIZEN_LANGUAGES = ("de", "en", "tr", "ar", "uk", "ru", "ls")
STAFF_LANGUAGES = ("de", "en")
#: Written right to left.
RIGHT_TO_LEFT = frozenset({"ar"})
#: Each language named in itself, for the language menu.
AUTONYMS = {
    "de": "Deutsch",
    "en": "English",
    "tr": "Türkçe",
    "ar": "العربية",
    "uk": "Українська",
    "ru": "Русский",
    "ls": "Leichte Sprache",
}


def html_lang(lang: str) -> str:
    """The ``lang`` attribute of a page: Leichte Sprache is German."""
    return DEFAULT if lang == "ls" else lang


def direction(lang: str) -> str:
    return "rtl" if lang in RIGHT_TO_LEFT else "ltr"
