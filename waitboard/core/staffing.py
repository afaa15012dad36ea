"""The usual staffing of the coming hours: how many counters a queue has then, as a rule.

Most of what a forecast gets wrong on a real office's days is not knowing how many counters
will work in the coming hour: a wait told at 11:40 runs into the lunch hour, when fewer
counters call. The Lua scripts learn, per queue, weekday and hour, how many counters called
its tickets in that hour - a recent-weighted mean over the same weekday's earlier weeks
(``scripts/lib.lua``, ``learn_staff``). A wait that runs into coming hours is then played
with their usual staffing rather than with today's count: the part of it beyond this hour
goes at the speed of that hour's usual counters against the counters open now ("on
Tuesdays at 12:00 usually 3 counters, 5 open now: from 12:00 the queue moves at 3/5 of
its pace"). An hour not learned yet, or with nobody calling as a rule, is taken as now.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

#: Same weekday and hour seen on this many days before its usual staffing is used.
STAFF_MIN_DAYS = 3
#: Never played slower than this share of today's counters (a usual hour with one counter
#: calling a queue's last few people must not make its wait endless), nor faster than
#: this many times them.
MIN_SHARE, MAX_SHARE = 0.25, 2.0
#: Hours ahead looked at; beyond them a wait goes on at the last hour's speed.
HOURS_AHEAD = 8
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def staff_field(queue: str, weekday: int, hour: int) -> str:
    """The name under which the scripts keep a queue's usual counters at an hour of a
    weekday (0 = Monday): ``staff:A@tue09``."""
    return f"staff:{queue}@{WEEKDAYS[weekday]}{hour:02d}"


def usual_staff(learn: Mapping[str, float], queue: str, weekday: int, hour: int) -> float | None:
    """How many counters usually call a queue's tickets at an hour of a weekday; None
    while fewer than ``STAFF_MIN_DAYS`` such days were seen."""
    name = staff_field(queue, weekday, hour)
    value, n = learn.get(name), learn.get(name + ":n", 0.0)
    if value is None or n < STAFF_MIN_DAYS or value <= 0:
        return None
    return value


def speeds(learn: Mapping[str, float], queue: str, local: datetime, open_now: int) -> list[float]:
    """The speed of each coming hour (the next first) against now: its usual counters over
    the counters open now, within ``MIN_SHARE`` and ``MAX_SHARE``; 1 where not known."""
    out = []
    day, hour = local.weekday(), local.hour
    for k in range(1, HOURS_AHEAD + 1):
        h = hour + k
        usual = usual_staff(learn, queue, (day + h // 24) % 7, h % 24)
        if usual is None or open_now <= 0:
            out.append(1.0)
        else:
            out.append(min(MAX_SHARE, max(MIN_SHARE, usual / open_now)))
    return out


def stretched(wait_s: float | None, local: datetime, hour_speeds: list[float]) -> float | None:
    """A wait forecast at today's speed, played with each coming hour at its own speed:
    the part of it within this hour as it is, each later hour's share of the work at
    that hour's speed."""
    if wait_s is None:
        return None
    left_s = 3600.0 - (local.minute * 60 + local.second + local.microsecond / 1e6)
    if wait_s <= left_s:
        return wait_s
    work, t = wait_s - left_s, left_s
    for speed in hour_speeds:
        if work <= 3600.0 * speed:
            return t + work / speed
        work -= 3600.0 * speed
        t += 3600.0
    return t + work / (hour_speeds[-1] if hour_speeds else 1.0)
