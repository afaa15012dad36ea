"""Opening hours of a location, without I/O.

Written as in the office configuration: ``mon = "08:00-12:30,14:00-17:30"``. A day that is
not listed is closed. ``24:00`` may end a range (open until midnight).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(r"^\s*(\d{2}):(\d{2})\s*-\s*(\d{2}):(\d{2})\s*$")

Range = tuple[int, int]  # minutes after local midnight, [start, end)


def parse_ranges(text: str) -> tuple[Range, ...]:
    """``"08:00-12:30,14:00-17:30"`` -> ((480, 750), (840, 1050)); ValueError says why not."""
    ranges: list[Range] = []
    for part in text.split(","):
        m = _RANGE.match(part)
        if not m:
            raise ValueError(f"'{part.strip()}' is not a time range like 08:00-12:30")
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        if h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59 or (h2 == 24 and m2 != 0):
            raise ValueError(f"'{part.strip()}' has a time that does not exist")
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if end <= start:
            raise ValueError(f"'{part.strip()}' ends before it starts")
        if ranges and start < ranges[-1][1]:
            raise ValueError(f"'{part.strip()}' overlaps or is not in order with the range before")
        ranges.append((start, end))
    return tuple(ranges)


@dataclass(frozen=True, slots=True)
class OpeningHours:
    """Weekly opening hours; index 0 is Monday."""

    week: tuple[tuple[Range, ...], ...]

    @classmethod
    def parse(cls, spec: Mapping[str, str]) -> OpeningHours:
        unknown = set(spec) - set(WEEKDAYS)
        if unknown:
            raise ValueError(f"unknown day {sorted(unknown)[0]!r}; use {', '.join(WEEKDAYS)}")
        return cls(tuple(parse_ranges(spec[d]) if spec.get(d) else () for d in WEEKDAYS))

    @classmethod
    def always(cls) -> OpeningHours:
        return cls(tuple(((0, 24 * 60),) for _ in WEEKDAYS))

    def is_open(self, local: datetime) -> bool:
        """Whether the location is open at this local time."""
        minute = local.hour * 60 + local.minute
        return any(start <= minute < end for start, end in self.week[local.weekday()])

    def closes_at(self, local: datetime) -> datetime | None:
        """When the opening under way ends; None when closed now, or when open around the
        clock. A range that ends at 24:00 runs on into one that starts at 00:00 the next
        day, so "Fr 08:00-24:00, Sa 00:00-02:00" closes on Saturday at 02:00: a page does
        not announce a closing that never comes."""
        minute = local.hour * 60 + local.minute
        day0 = local.replace(hour=0, minute=0, second=0, microsecond=0)
        for start, end in self.week[local.weekday()]:
            if start <= minute < end:
                for offset in range(1, 8):
                    following = self.week[(local.weekday() + offset) % 7]
                    if end < 24 * 60 or not following or following[0][0] != 0:
                        # Wall-clock arithmetic, as in next_opening.
                        return day0 + timedelta(days=offset - 1, minutes=end)
                    end = following[0][1]
                return None  # every range of the week runs into the next
        return None

    def next_opening(self, local: datetime) -> datetime | None:
        """The next local moment the location opens (after ``local``), within a week."""
        day0 = local.replace(hour=0, minute=0, second=0, microsecond=0)
        minute = local.hour * 60 + local.minute
        for offset in range(8):
            ranges = self.week[(local.weekday() + offset) % 7]
            for start, _end in ranges:
                if offset == 0 and start <= minute:
                    continue
                # Wall-clock arithmetic on purpose: "opens Monday 08:00" also across DST.
                return (day0 + timedelta(days=offset)).replace(hour=start // 60, minute=start % 60)
        return None
