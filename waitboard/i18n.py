"""Texts for people, German first, English with ``?lang=en``.

All page texts come from one catalog per language (``kiosk_templates/i18n/*.json``); the
templates and the JS module only use keys. A key missing in English falls back to German.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Sequence
from datetime import date, datetime
from functools import cache
from importlib import resources
from typing import Any

import pyphen

from waitboard.core.errors import WaitboardError
from waitboard.core.office import Location

LANGUAGES = ("de", "en")
DEFAULT = "de"

_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


#: Words at least this long get soft hyphens; shorter ones always fit.
HYPHENATE_FROM = 10
_DICTIONARIES = {"de": "de_DE", "en": "en_GB"}
_LETTER_RUNS = re.compile(r"[^\W\d_]+")
_VOWELS = frozenset("aeiouyäöüAEIOUYÄÖÜ")


@cache
def soft_hyphens(text: str, lang: str) -> str:
    """``text`` with U+00AD between the syllables of its long words, from pyphen's
    dictionaries (the ones LibreOffice uses). Only runs of letters are hyphenated (not
    next to a hyphen, a slash or a bracket already there), and a piece without a vowel
    joins the one before: the German patterns' slips ("Be-da-rfs", "be-a-r-bei-tung")
    become "Be-darfs" and "be-ar-bei-tung"."""
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


@cache
def catalog(lang: str) -> dict[str, str]:
    base = _texts(DEFAULT)
    return base if lang == DEFAULT else {**base, **_texts(lang)}


def _texts(lang: str) -> dict[str, str]:
    """``de.json`` and every ``<part>.de.json``: one file per part of the service, so the
    texts of appointments or applications stay next to each other."""
    files = resources.files("kiosk_templates") / "i18n"
    names = sorted(f.name for f in files.iterdir() if f.name.endswith(f".{lang}.json"))
    texts: dict[str, str] = json.loads((files / f"{lang}.json").read_text("utf-8"))
    for name in names:
        texts.update(json.loads((files / name).read_text("utf-8")))
    return texts


def _as_day(value: date | str) -> date:
    """A day, or the day an ISO date or date-time names."""
    return date.fromisoformat(value[:10]) if isinstance(value, str) else value


def pick_language(query_lang: str | None) -> str:
    return query_lang if query_lang in LANGUAGES else DEFAULT


class Translator:
    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.texts = catalog(lang)

    def __call__(self, key: str, **params: Any) -> str:
        text = self.texts.get(key, key)
        return text.format(**params) if params else text

    def plural(self, key: str, n: int) -> str:
        """The text for ``n`` of something: ``<key>.one`` for 1, else ``<key>.other`` (German
        and English need no other forms). live.js chooses the same way."""
        return self(f"{key}.{'one' if n == 1 else 'other'}", n=n)

    def wait(self, seconds: int | None) -> str:
        """A wait as a person says it: "ca. 15 Min.", "ca. 1 Std. 20 Min.", "sofort"."""
        if seconds is None:
            return self("wait.unknown")
        if seconds < 60:
            return self("wait.now")
        minutes = -(-seconds // 60)
        if minutes > 15:
            minutes = -(-minutes // 5) * 5  # "ca. 35 Min." reads better than "ca. 33 Min."
        if minutes < 60:
            return self("wait.minutes", n=minutes)
        minutes = -(-minutes // 10) * 10
        hours, rest = divmod(minutes, 60)
        if rest == 0:
            return self("wait.hours", h=hours)
        return self("wait.hours_minutes", h=hours, n=rest)

    def wait_range(self, bounds: Sequence[int] | None) -> str:
        """The range as people say it: "10–20 Min.", "bis 6 Min." (empty when there is
        none)."""
        if not bounds:
            return ""
        low, high = bounds
        if high < 60:
            return ""
        lo_min, hi_min = low // 60, -(-high // 60)
        if lo_min > 15:
            lo_min = lo_min // 5 * 5
        if hi_min > 15:
            hi_min = -(-hi_min // 5) * 5
        if lo_min == 0:  # ("sofort (0–6 Min.)" would say now and maybe not at once)
            return self("wait.range_up_to", hi=hi_min)
        return self("wait.range", lo=lo_min, hi=max(hi_min, lo_min + 1))

    def name(self, thing: Any) -> str:
        """The display name of a location, queue or counter (config object or snapshot)."""
        return self._name(thing)[0]

    def _name(self, thing: Any) -> tuple[str, str]:
        """The display name and its language: German where there is no English one."""
        english = thing.get("name_en") if isinstance(thing, dict) else thing.name_en
        if self.lang == "en" and english:
            return str(english), "en"
        return str(thing["name"] if isinstance(thing, dict) else thing.name), DEFAULT

    def breakable_name(self, thing: Any) -> str:
        """The display name with soft hyphens in its long words ("Arbeits\u00advermittlung"),
        for a narrow table: a phone then breaks a German compound where a reader expects,
        with a hyphen, instead of anywhere or not at all (few phone browsers hyphenate by
        themselves). Screen readers skip soft hyphens."""
        return soft_hyphens(*self._name(thing))  # in the name's own language

    def day(self, value: date | str) -> str:
        """A day (or an ISO ``2026-12-04``) as its reader writes it: "04.12.2026" in German,
        "4 Dec 2026" in English - never 04/12 (the 4th of December to a British reader,
        April to an American one), nor a bare ISO date on one page and dots on the next."""
        value = _as_day(value)
        return f"{self.day_month(value)}{' ' if self.lang == 'en' else ''}{value.year}"

    def day_month(self, value: date | str) -> str:
        """A day without its year, for a strip of the coming days: "07.12." / "7 Dec"."""
        value = _as_day(value)
        if self.lang == "en":
            return f"{value.day} {_MONTHS_EN[value.month - 1]}"
        return f"{value:%d.%m.}"

    def decimal(self, value: float, digits: int = 1) -> str:
        """``12,5`` in German, ``12.5`` in English."""
        text = f"{value:.{digits}f}"
        return text.replace(".", ",") if self.lang == "de" else text

    def weekday(self, index: int) -> str:
        return self(f"day.{index}")

    def opening(self, snap: dict[str, Any]) -> str:
        """ "geöffnet bis 12:30 Uhr" / "öffnet Do 08:00 Uhr" / "derzeit geschlossen", from a
        snapshot's ``closes_at`` / ``opens_at`` (live.js phrases them the same way)."""
        if snap["open"]:
            closes = snap.get("closes_at")
            if not closes:
                return self("hours.open")
            # (Open until midnight is "bis 24:00 Uhr", as the opening hours write it.)
            return self("hours.open_until", time=closes[11:16].replace("00:00", "24:00"))
        opens = snap.get("opens_at")
        if not opens:
            return self("hours.closed")
        when = datetime.fromisoformat(opens)
        if opens[:10] == snap["generated_at"][:10]:
            return self("hours.opens_today", time=f"{when:%H:%M}")
        return self("hours.opens", day=self.weekday(when.weekday()), time=f"{when:%H:%M}")

    def week(self, loc: Location) -> list[tuple[str, str]]:
        """(day, "08:00–12:30, 14:00–17:30") for every day, closed days included. A narrow
        screen may wrap between the ranges, never inside one (word joiners at the dash)."""
        rows = []
        for i, ranges in enumerate(loc.opening_hours.week):
            text = ", ".join(
                f"{s // 60:02d}:{s % 60:02d}\u2060–\u2060{e // 60:02d}:{e % 60:02d}"
                for s, e in ranges
            ) or self("hours.day_closed")
            rows.append((self(f"day.long.{i}"), text))
        return rows

    def _param(self, name: str, value: Any) -> Any:
        """A problem's field as its text says it: a ticket's state in words, and a date
        (German in the problem, 01.12.2026, since API v1) in the text's language."""
        if name == "state":
            return self(f"status.{value}")
        if name == "date" and isinstance(value, str):
            try:
                return self.day(datetime.strptime(value, "%d.%m.%Y").date())
            except ValueError:
                return value
        return value

    def error(self, err: WaitboardError) -> str:
        """An error in this language, from its code - for an invalid field, from the code
        and the field's name where there is a text for that (``error.invalid_request.
        code``: what a booking code looks like), or from the code and the refusal's
        ``reason`` (``error.application_change_invalid.too_long``); the English detail as
        a fallback."""
        key = f"error.{err.code}"
        field, reason = err.extra.get("field"), err.extra.get("reason")
        if isinstance(reason, str) and f"{key}.{reason}" in self.texts:
            key = f"{key}.{reason}"
        elif isinstance(field, str) and f"{key}.{field}" in self.texts:
            key = f"{key}.{field}"
        if key not in self.texts:
            return err.detail
        params = {k: self._param(k, v) for k, v in err.extra.items()}
        try:
            return self(key, **params)
        except (KeyError, IndexError):
            return err.detail
