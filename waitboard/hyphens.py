"""Soft hyphens in long words, so that a narrow screen breaks a German compound where a
reader expects it."""

from __future__ import annotations

import itertools
import re
from functools import cache

import pyphen

DEFAULT = "de"

#: Words at least this long get soft hyphens; shorter ones always fit.
HYPHENATE_FROM = 10
_DICTIONARIES = {
    "de": "de_DE",
    "ls": "de_DE",
    "en": "en_GB",
    "uk": "uk_UA",
    "ru": "ru_RU",
}
_LETTER_RUNS = re.compile(r"[^\W\d_]+")
_VOWELS = frozenset("aeiouyäöüAEIOUYÄÖÜ")


@cache
def soft_hyphens(text: str, lang: str) -> str:
    """``text`` with U+00AD between the syllables of its long words, from pyphen's
    dictionaries (the ones LibreOffice uses). Only runs of letters are hyphenated (not
    next to a hyphen, a slash or a bracket already there), and a piece without a vowel
    joins the one before: the German patterns' slips ("Be-da-rfs", "be-a-r-bei-tung")
    become "Be-darfs" and "be-ar-bei-tung"."""
    if lang not in _DICTIONARIES:
        return text  # (a language without patterns here: the browser breaks it, or not)
    dictionary = _hyphenator(lang)

    def hyphenated(match: re.Match[str]) -> str:
        word = match.group(0)
        if len(word) < HYPHENATE_FROM:
            return word
        cuts = [0, *dictionary.positions(word), len(word)]
        pieces: list[str] = []
        for a, b in itertools.pairwise(cuts):
            piece = word[a:b]
            if pieces and not (_VOWELS & set(piece) and _VOWELS & set(pieces[-1])):
                pieces[-1] += piece
            else:
                pieces.append(piece)
        return "\u00ad".join(pieces)

    return _LETTER_RUNS.sub(hyphenated, text)


@cache
def _hyphenator(lang: str) -> pyphen.Pyphen:
    return pyphen.Pyphen(lang=_DICTIONARIES.get(lang, _DICTIONARIES[DEFAULT]))
