"""Texts: every key the pages use exists in German and English; waits read like speech."""

from __future__ import annotations

import re
from datetime import date

import pytest
from babel.messages.pofile import read_po

from tests.helpers import ROOT
from waitboard.core.domain import TicketStatus
from waitboard.core.errors import BookingOtherDay
from waitboard.core.pauses import PauseReason
from waitboard.i18n import Translator, soft_hyphens
from waitboard.labels import ERRORS, LABELS

LOCALE = ROOT / "kiosk_templates" / "locale"


def catalog(lang: str) -> dict[tuple[str | None, str], str | tuple[str, ...]]:
    """One language's texts as shipped, by (context, German source text); German itself is
    the template's source texts."""
    path = (
        LOCALE / "waitboard.pot" if lang == "de" else LOCALE / lang / "LC_MESSAGES" / "waitboard.po"
    )
    with path.open("rb") as f:
        entries = read_po(f)
    return {
        (m.context, m.id if isinstance(m.id, str) else m.id[0]): (
            m.id if lang == "de" else m.string
        )
        for m in entries
        if m.id
    }


def test_both_catalogs_have_the_same_keys() -> None:
    """German and English name the same texts."""
    assert set(catalog("de")) == set(catalog("en"))


#: Labels built from a value other than a ticket's status: the values they are built from.
DYNAMIC = {
    "booking.status": ["booked", "arrived", "cancelled"],
    "staff.appt": ["booked", "arrived", "arrived_late", "missed", "cancelled"],
    "staff.done": ["recall", "start", "complete", "no-show", "cancel", "transfer"],
    "pause": [r.value for r in PauseReason],
}


def test_every_used_key_exists() -> None:
    """No page shows a raw value: each label a page builds from a value (a ticket's status,
    a booking's) exists for every value, and is a text of the catalog."""
    known = set(catalog("de"))
    for kind, texts in LABELS.items():
        for value in DYNAMIC.get(kind, [s.value for s in TicketStatus]):
            assert value in texts, f"{kind}.{value}"
            message = texts[value]
            assert (message if isinstance(message, tuple) else (None, message)) in known, value


def test_placeholders_match_between_languages() -> None:
    """A translation keeps the {placeholders} of the German text."""
    de, en = catalog("de"), catalog("en")
    for key, text in de.items():
        german = text if isinstance(text, tuple) else (text,)
        english = en[key] if isinstance(en[key], tuple) else (en[key],)
        for source, translation in zip(german, english, strict=True):
            assert set(re.findall(r"{(\w+)}", source)) == set(
                re.findall(r"{(\w+)}", str(translation))
            ), key


#: A no-break space: a wait never wraps between its number and its unit.
NB = "\u00a0"


@pytest.mark.parametrize(
    ("seconds", "de", "en"),
    [
        (None, "unbekannt", "unknown"),
        (30, "sofort", f"under 1{NB}min"),
        (8 * 60, f"ca.{NB}8{NB}Min.", f"approx.{NB}8{NB}min"),
        (33 * 60, f"ca.{NB}35{NB}Min.", f"approx.{NB}35{NB}min"),
        (60 * 60, f"ca.{NB}1{NB}Std.", f"approx.{NB}1{NB}h"),
        (137 * 60, f"ca.{NB}2{NB}Std. 20{NB}Min.", f"approx.{NB}2{NB}h 20{NB}min"),
    ],
)
def test_waits_read_as_a_person_says_them(seconds: int | None, de: str, en: str) -> None:
    """Rounded the way people talk: to 5 minutes above a quarter hour, 10 above an hour;
    a narrow tile may wrap a wait only between its hours and its minutes."""
    assert Translator("de").wait(seconds) == de
    assert Translator("en").wait(seconds) == en


@pytest.mark.parametrize(
    ("n", "de", "en"),
    [(0, "warten", "waiting"), (1, "wartet", "waiting"), (12, "warten", "waiting")],
)
def test_a_count_of_people_waiting_agrees_with_its_number(n: int, de: str, en: str) -> None:
    """One person waits ("1 wartet"), never "1 Wartende"; any other count is plural - and
    short, for a tile read from across the room."""
    assert Translator("de").ngettext("wartet", "warten", n) == de
    assert Translator("en").ngettext("wartet", "warten", n) == en


def test_days_read_as_each_reader_writes_them() -> None:
    """04.12.2026 in German, 4 Dec 2026 in English (never 04/12, which two English readers
    read two ways), on every page and in error texts, while the API's problem keeps its
    date as it was."""
    assert Translator("de").day(date(2026, 12, 4)) == "04.12.2026"
    assert Translator("en").day(date(2026, 12, 4)) == "4 Dec 2026"
    assert Translator("en").day("2026-01-09T10:00:00+01:00") == "9 Jan 2026"
    assert Translator("de").day_month("2026-12-07") == "07.12."
    assert Translator("en").day_month(date(2026, 12, 7)) == "7 Dec"
    other_day = BookingOtherDay("on 2026-12-01", date="01.12.2026", time="09:00")
    assert "am 01.12.2026 um 09:00 Uhr" in Translator("de").error(other_day)
    assert "on 1 Dec 2026 at 09:00" in Translator("en").error(other_day)
    assert other_day.extra["date"] == "01.12.2026"


def test_open_until_midnight_reads_24_00() -> None:
    """A location open until midnight is "geöffnet bis 24:00 Uhr", as its opening hours
    say, not "bis 00:00 Uhr"."""
    snap = {"open": True, "closes_at": "2026-12-05T00:00:00+01:00"}
    assert Translator("de").opening(snap) == "geöffnet bis 24:00 Uhr"
    assert Translator("de").opening({**snap, "closes_at": "2026-12-04T12:30:00+01:00"}) == (
        "geöffnet bis 12:30 Uhr"
    )


def test_every_error_a_person_can_meet_has_a_german_text() -> None:
    """Staff and terminal pages never fall back to an English detail."""
    import waitboard.core.errors as errors

    codes = {
        cls.code
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.WaitboardError)
    }
    missing = {c for c in codes if (c, None) not in ERRORS}
    assert not missing, sorted(missing)


@pytest.mark.parametrize(
    ("bounds", "de"),
    [
        (None, ""),
        ([0, 40], ""),
        ([300, 900], f"5–15{NB}Min."),
        ([1000, 1900], f"15–35{NB}Min."),
        ([600, 601], f"10–11{NB}Min."),
        ([0, 360], f"bis{NB}6{NB}Min."),
        ([30, 90], f"bis{NB}2{NB}Min."),
    ],
)
def test_ranges_read_as_a_person_says_them(bounds: list[int] | None, de: str) -> None:
    """Ranges in whole minutes, rounded outwards; none under a minute; from zero, "bis"."""
    assert Translator("de").wait_range(bounds) == de


def test_long_names_get_soft_hyphens_where_german_breaks_them() -> None:
    """A long compound gets U+00AD between its syllables, short words none; the text reads
    the same without them (screen readers and copy-paste skip soft hyphens)."""
    name = soft_hyphens("Termin Arbeitsvermittlung", "de")
    assert name == "Termin Ar\u00adbeits\u00adver\u00admitt\u00adlung"
    assert name.replace("\u00ad", "") == "Termin Arbeitsvermittlung"
    assert soft_hyphens("Leistung", "de") == "Leistung"
    assert "\u00ad" in soft_hyphens("Employment services", "en")
    # The dictionary's slips mended: no piece without a vowel.
    shy = "\u00ad"
    assert soft_hyphens("Bedarfsgemeinschaft", "de") == shy.join(
        ["Be", "darfs", "ge", "mein", "schaft"]
    )
    assert soft_hyphens("Leistungsbearbeitung", "de") == shy.join(
        ["Leis", "tungs", "be", "ar", "bei", "tung"]
    )
    # Letters only: nothing next to a bracket or a hyphen that is there already.
    assert soft_hyphens("(Arbeitsvermittlung)", "de").startswith("(Ar" + shy)
    assert soft_hyphens("Bürgergeld-Antrag", "de").endswith("geld-Antrag")


def test_a_german_name_on_an_english_page_is_hyphenated_as_german() -> None:
    """A queue without an English name shows its German one, with German syllables."""
    queue = {"name": "Eingangszone"}
    assert Translator("en").breakable_name(queue) == Translator("de").breakable_name(queue)
    with_english = {"name": "Anmeldung", "name_en": "Registration"}
    assert Translator("en").breakable_name(with_english) == soft_hyphens("Registration", "en")


def test_a_page_embeds_the_js_messages_only_with_plurals_by_category() -> None:
    """The JS modules get the translations of their own messages - a plural as its forms
    by CLDR category (Intl.PluralRules picks one), a message with a context under gettext's
    context key - and the weekday names; no staff text rides along on a public page."""
    texts = Translator("en").js_texts()
    messages = texts["messages"]
    assert messages["wartet"] == {"one": "waiting", "other": "waiting"}
    assert Translator("de").js_texts()["messages"]["wartet"] == {"one": "wartet", "other": "warten"}
    assert messages["queue.closed\x04geschlossen"] == "closed"
    assert messages["Wartezeit"] == "Wait"
    assert "Anmelden" not in messages
    assert texts["weekdays"][0] == "Mon"
    assert Translator("de").js_texts()["weekdays"][6] == "So"


def test_a_language_without_its_own_patterns_gets_cldr_dates() -> None:
    """A language added by its catalog and code alone still writes days and numbers its
    readers' way (CLDR's), and shows German where its catalog has no entry."""
    t = Translator("tr")
    assert t.day(date(2026, 12, 4)) == "4 Ara 2026"
    assert t("Wartezeit") == "Bekleme süresi"
    assert t("Ein Text, den kein Katalog kennt") == "Ein Text, den kein Katalog kennt"
