"""Opening hours: parsing, open or not, next opening."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from waitboard.core.hours import OpeningHours, parse_ranges

BERLIN = ZoneInfo("Europe/Berlin")
JOBCENTER = OpeningHours.parse(
    {"mon": "08:00-12:30", "thu": "08:00-12:30,14:00-17:30", "fri": "08:00-12:30"}
)


def at(day: int, hh: int, mm: int) -> datetime:
    """A local time in the week of Monday 23 Nov 2026 (day 0 = Monday)."""
    return datetime(2026, 11, 23 + day, hh, mm, tzinfo=BERLIN)


def test_open_within_a_range_and_closed_at_its_end() -> None:
    """08:00 is open, 12:29 is open, 12:30 is closed."""
    assert JOBCENTER.is_open(at(0, 8, 0))
    assert JOBCENTER.is_open(at(0, 12, 29))
    assert not JOBCENTER.is_open(at(0, 12, 30))
    assert not JOBCENTER.is_open(at(0, 7, 59))


def test_afternoon_range_and_unlisted_days() -> None:
    """Thursday afternoon is open; Tuesday is not listed, so closed."""
    assert JOBCENTER.is_open(at(3, 15, 0))
    assert not JOBCENTER.is_open(at(3, 13, 0))
    assert not JOBCENTER.is_open(at(1, 9, 0))


def test_next_opening() -> None:
    """Monday 13:00 -> Thursday 08:00; Thursday 13:00 -> Thursday 14:00; Friday 13:00 ->
    Monday 08:00."""
    assert JOBCENTER.next_opening(at(0, 13, 0)) == at(3, 8, 0)
    assert JOBCENTER.next_opening(at(3, 13, 0)) == at(3, 14, 0)
    assert JOBCENTER.next_opening(at(4, 13, 0)) == at(7, 8, 0)


def test_never_open_has_no_next_opening() -> None:
    """A location without hours never opens."""
    assert OpeningHours.parse({}).next_opening(at(0, 9, 0)) is None


def test_open_until_midnight() -> None:
    """24:00 ends a range at midnight."""
    always = OpeningHours.always()
    assert always.is_open(at(6, 23, 59))
    assert parse_ranges("00:00-24:00") == ((0, 1440),)


def test_open_around_the_clock_never_closes() -> None:
    """Open every day 00:00-24:00: no closing time to announce, at any hour of the week."""
    always = OpeningHours.always()
    assert always.closes_at(at(6, 2, 30)) is None
    assert always.closes_at(at(0, 23, 59)) is None


def test_an_opening_runs_on_past_midnight() -> None:
    """A range that ends at 24:00 continues into the next day's range from 00:00: the
    location closes when that one ends, or at midnight when the next day starts later."""
    late = OpeningHours.parse(
        {"fri": "08:00-24:00", "sat": "00:00-02:00,10:00-12:00", "sun": "10:00-24:00"}
    )
    assert late.closes_at(at(4, 22, 0)) == at(5, 2, 0)
    assert late.closes_at(at(5, 1, 0)) == at(5, 2, 0)
    assert late.closes_at(at(6, 11, 0)) == at(7, 0, 0)
    weekdays = OpeningHours.parse({d: "00:00-24:00" for d in ("mon", "tue", "wed", "thu", "fri")})
    assert weekdays.closes_at(at(0, 3, 0)) == at(5, 0, 0)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("8-12", "not a time range"),
        ("12:00-08:00", "ends before it starts"),
        ("08:00-12:00,11:00-13:00", "overlaps"),
        ("25:00-26:00", "does not exist"),
        ("08:00-24:30", "does not exist"),
    ],
)
def test_bad_ranges_say_what_is_wrong(text: str, reason: str) -> None:
    """Each kind of mistake gets its own explanation."""
    with pytest.raises(ValueError, match=reason):
        parse_ranges(text)


def test_unknown_day_name() -> None:
    """Days are mon..sun."""
    with pytest.raises(ValueError, match="unknown day 'monday'"):
        OpeningHours.parse({"monday": "08:00-12:00"})
