"""Texts for people, German first: gettext catalogs managed with Babel.

The source texts are German (the office's default, and what an untranslated entry shows);
``kiosk_templates/locale/<lang>/LC_MESSAGES/waitboard.po`` translates them, compiled to
``.mo`` beside it. A new language is its ``.po`` plus its code in ``LANGUAGES``. Dates,
numbers, weekday names and plural rules come from Babel's CLDR data for each language.
"""

from __future__ import annotations

import gettext
from collections.abc import Sequence
from datetime import date, datetime, time
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

from babel import Locale
from babel.dates import format_date, format_skeleton, format_time, get_day_names
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

from waitboard.core.errors import WaitboardError
from waitboard.core.languages import (
    CITIZEN_LANGUAGES,
    DEFAULT,
    STAFF_LANGUAGES,
    direction,
    html_lang,
)
from waitboard.core.marks import Message
from waitboard.core.office import Location
from waitboard.hyphens import soft_hyphens
from waitboard.js_texts import js_messages
from waitboard.labels import ERRORS, LABELS

#: The languages shipped: each has its catalog, complete (tests/test_catalogs.py).
LANGUAGES = CITIZEN_LANGUAGES
DOMAIN = "waitboard"

#: The CLDR patterns that write a day as each language's readers do: 04.12.2026, and
#: 4 Dec 2026 (en, not en_GB: CLDR abbreviates September "Sept" in British English). A
#: language without its own gets CLDR's medium date and its "day month" skeleton.
_DAY = {"de": "dd.MM.y", "en": "d MMM y"}
_DAY_MONTH = {"de": "dd.MM.", "en": "d MMM"}

__all__ = [
    "DEFAULT",
    "LANGUAGES",
    "STAFF_LANGUAGES",
    "Translator",
    "negotiate",
    "pick_language",
    "soft_hyphens",
]


@cache
def translations(lang: str) -> gettext.NullTranslations:
    """The compiled catalog of ``lang``; German is the source and needs none."""
    if lang == DEFAULT:
        return NullTranslations()
    directory = resources.files("kiosk_templates") / "locale"
    return Translations.load(str(directory), [lang], DOMAIN)


def _as_day(value: date | str) -> date:
    """A day, or the day an ISO date or date-time names."""
    return date.fromisoformat(value[:10]) if isinstance(value, str) else value


def pick_language(query_lang: str | None, offered: Sequence[str] = LANGUAGES) -> str:
    return query_lang if query_lang is not None and query_lang in offered else DEFAULT


def negotiate(accept_language: str | None, offered: Sequence[str] = LANGUAGES) -> str | None:
    """The first language of an ``Accept-Language`` header (by its q-values) that is
    offered, matched by its primary tag ("tr-TR" is Turkish); None when none is."""
    if not accept_language:
        return None
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(accept_language.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                continue
        primary = tag.strip().lower().split("-")[0]
        if primary in offered and primary != "ls" and q > 0:
            ranked.append((-q, i, primary))
    return min(ranked)[2] if ranked else None


class Translator:
    """One language's texts: ``t("Wartezeit")``, ``t.ngettext("wartet", "warten", n)``,
    ``t.pgettext("queue.closed", "geschlossen")``; placeholders in braces, filled with
    ``str.format``."""

    def __init__(self, lang: str, names: dict[str, str] | None = None) -> None:
        self.lang = lang
        self.html_lang, self.dir = html_lang(lang), direction(lang)
        #: The office's names in this language by their German one (pages.render).
        self.names = names or {}
        # Leichte Sprache has a catalog of its own but German's formats and plural rule.
        self.locale = Locale.parse(html_lang(lang))
        self._translations = translations(lang)

    def __call__(self, message: str, **params: Any) -> str:
        text = self._translations.gettext(message)
        return text.format(**params) if params else text

    def ngettext(self, singular: str, plural: str, n: int, **params: Any) -> str:
        """The form for ``n`` by the language's CLDR plural rule; ``{n}`` is filled in."""
        return self._translations.ngettext(singular, plural, n).format(n=n, **params)

    def pgettext(self, context: str, message: str, **params: Any) -> str:
        text = self._translations.pgettext(context, message)
        return text.format(**params) if params else text

    def message(self, message: Message, **params: Any) -> str:
        """A marked text (``N_`` or ``NP_``) in this language."""
        if isinstance(message, tuple):
            return self.pgettext(*message, **params)
        return self(message, **params)

    def label(self, kind: str, value: str) -> str:
        """A value in words: ``t.label("status", "no_show")`` -> "nicht erschienen"."""
        return self.message(LABELS[kind][value])

    def js_texts(self) -> dict[str, Any]:
        """What the JS modules need, for the page to embed: the translation of each message
        they use (a plural as its forms by CLDR category, a message with a context under
        ``context\\x04message``, as gettext keys them) and the weekday names."""
        messages: dict[str, Any] = {}
        for context, message in js_messages():
            if isinstance(message, tuple):
                messages[message[0]] = self._plural_forms(*message)
            elif context:
                messages[f"{context}\x04{message}"] = self.pgettext(context, message)
            else:
                messages[message] = self(message)
        return {"messages": messages, "weekdays": [self.weekday(i) for i in range(7)]}

    def _plural_forms(self, singular: str, plural: str) -> dict[str, str]:
        """Each CLDR category of the language with its text (from a number in it), as
        ``Intl.PluralRules`` names them."""
        rule, forms = self.locale.plural_form, dict[str, str]()
        for n in range(200):
            forms.setdefault(rule(n), self._translations.ngettext(singular, plural, n))
        return dict(sorted(forms.items()))

    def wait(self, seconds: int | None) -> str:
        """A wait as a person says it: "ca. 15 Min.", "ca. 1 Std. 20 Min.", "sofort"."""
        if seconds is None:
            return self("unbekannt")
        if seconds < 60:
            return self("sofort")
        minutes = -(-seconds // 60)
        if minutes > 15:
            minutes = -(-minutes // 5) * 5  # "ca. 35 Min." reads better than "ca. 33 Min."
        if minutes < 60:
            return self("ca.\u00a0{n}\u00a0Min.", n=minutes)
        minutes = -(-minutes // 10) * 10
        hours, rest = divmod(minutes, 60)
        if rest == 0:
            return self("ca.\u00a0{h}\u00a0Std.", h=hours)
        return self("ca.\u00a0{h}\u00a0Std. {n}\u00a0Min.", h=hours, n=rest)

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
            return self("bis\u00a0{hi}\u00a0Min.", hi=hi_min)
        return self("{lo}–{hi}\u00a0Min.", lo=lo_min, hi=max(hi_min, lo_min + 1))

    def name(self, thing: Any) -> str:
        """The display name of a location, queue or counter (config object or snapshot)."""
        return self._name(thing)[0]

    def _name(self, thing: Any) -> tuple[str, str]:
        """The display name and its language: the office's name in this language, else the
        German one. (A snapshot's shape carries German and English only.)"""
        if isinstance(thing, dict):
            german = str(thing["name"])
            if german in self.names:
                return self.names[german], self.lang
            english = thing.get("name_en")
            if self.lang == "en" and english:
                return str(english), "en"
            return german, DEFAULT
        own = thing.name_in(self.lang)
        return (str(own), self.lang) if own else (str(thing.name), DEFAULT)

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
        pattern = _DAY.get(self.locale.language, "medium")
        return format_date(_as_day(value), pattern, locale=self.locale)

    def day_month(self, value: date | str) -> str:
        """A day without its year, for a strip of the coming days: "07.12." / "7 Dec"."""
        day = _as_day(value)
        pattern = _DAY_MONTH.get(self.locale.language)
        if pattern is None:
            return format_skeleton("MMMd", day, locale=self.locale)
        return format_date(day, pattern, locale=self.locale)

    def clock(self, value: datetime | time) -> str:
        """A time of day, 24-hour in both languages: "08:00"."""
        return format_time(value, "HH:mm", locale=self.locale)

    def moment(self, value: datetime) -> str:
        """A day and its time, as staff lists show when something happened: "04.12.2026,
        08:00"."""
        return f"{self.day(value.date())}, {self.clock(value)}"

    def decimal(self, value: float, digits: int = 1) -> str:
        """``12,5`` in German, ``12.5`` in English (no grouping; rounded as the float is,
        exactly)."""
        pattern = "0." + "0" * digits if digits else "0"
        return format_decimal(Decimal(value), pattern, locale=self.locale)

    def weekday(self, index: int) -> str:
        """Monday is 0: "Mo" / "Mon" (CLDR's stand-alone abbreviations, without a dot)."""
        return str(get_day_names("abbreviated", "stand-alone", self.locale)[index])

    def opening(self, snap: dict[str, Any]) -> str:
        """ "geöffnet bis 12:30 Uhr" / "öffnet Do 08:00 Uhr" / "derzeit geschlossen", from a
        snapshot's ``closes_at`` / ``opens_at`` (live.js phrases them the same way)."""
        if snap["open"]:
            closes = snap.get("closes_at")
            if not closes:
                return self.pgettext("hours.open", "geöffnet")
            # (Open until midnight is "bis 24:00 Uhr", as the opening hours write it.)
            return self("geöffnet bis {time} Uhr", time=closes[11:16].replace("00:00", "24:00"))
        opens = snap.get("opens_at")
        if not opens:
            return self("derzeit geschlossen")
        when = datetime.fromisoformat(opens)
        if opens[:10] == snap["generated_at"][:10]:
            return self("öffnet heute um {time} Uhr", time=self.clock(when))
        return self(
            "öffnet {day} {time} Uhr", day=self.weekday(when.weekday()), time=self.clock(when)
        )

    def week(self, loc: Location) -> list[tuple[str, str]]:
        """(day, "08:00–12:30, 14:00–17:30") for every day, closed days included. A narrow
        screen may wrap between the ranges, never inside one (word joiners at the dash)."""
        rows = []
        names = get_day_names("wide", locale=self.locale)
        for i, ranges in enumerate(loc.opening_hours.week):
            text = ", ".join(
                f"{s // 60:02d}:{s % 60:02d}\u2060–\u2060{e // 60:02d}:{e % 60:02d}"
                for s, e in ranges
            ) or self.pgettext("hours.day_closed", "geschlossen")
            rows.append((str(names[i]), text))
        return rows

    def _param(self, name: str, value: Any) -> Any:
        """A problem's field as its text says it: a ticket's state in words, and a date
        (German in the problem, 01.12.2026, since API v1) in the text's language."""
        if name == "state":
            return self.label("status", value)
        if name == "date" and isinstance(value, str):
            try:
                return self.day(datetime.strptime(value, "%d.%m.%Y").date())
            except ValueError:
                return value
        return value

    def error(self, err: WaitboardError) -> str:
        """An error in this language, from its code - for an invalid field, from the code
        and the field's name where there is a text for that (``invalid_request``, ``code``:
        what a booking code looks like), or from the code and the refusal's ``reason``
        (``application_change_invalid``, ``too_long``); the English detail as a fallback."""
        field, reason = err.extra.get("field"), err.extra.get("reason")
        message = (
            (ERRORS.get((err.code, reason)) if isinstance(reason, str) else None)
            or (ERRORS.get((err.code, field)) if isinstance(field, str) else None)
            or ERRORS.get((err.code, None))
        )
        if message is None:
            return err.detail
        params = {k: self._param(k, v) for k, v in err.extra.items()}
        try:
            return self.message(message, **params)
        except (KeyError, IndexError):
            return err.detail
