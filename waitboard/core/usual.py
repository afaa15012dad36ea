"""A queue's usual hours: how many of its people are called, as a rule, in an hour.

Most of what a forecast gets wrong on a real office's days is not knowing how fast the
coming hour will go - how many counters will work, how long their tickets will take. The
pace of the last quarter of an hour (``core/pace.py``) says how fast it goes just now, but
from a handful of calls; offices repeat their week, so what the same weekday's hour
usually brought is the other half of the answer. The Lua scripts learn, per queue, weekday
and hour, how many of its people were called in that hour - a recent-weighted mean over
the same weekday's earlier weeks (``scripts/lib.lua``, ``learn_hour``). A position's
usual wait plays it through this hour and the coming ones at their usual rates ("on
Tuesdays usually 24 an hour at 10:00, 12 at 12:00"), and is weighed half and half with the
forecast of the moment (``snapshot.forecast``).

Playing the forecast with the usual *number of counters* of the coming hours instead
was tried on a real office's days (benchmarks/replay.py's tickets of October 2019 and
February 2020) and did not help (MAE 5.19 -> 5.23 and 3.61 -> 3.62 min): how many
counters are open says little of how fast they go; the rate of calls says it directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

#: Same weekday and hour seen on this many days before its usual rate is used.
USUAL_MIN_DAYS = 3
#: Hours ahead looked at; beyond them a wait goes on at the last hour's rate.
HOURS_AHEAD = 8
#: The usual rate's weight against the forecast of the moment (the pace of calls just
#: now, or where the queue has none, the counters played forward).
USUAL_WEIGHT = 0.5
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def rate_field(queue: str, weekday: int, hour: int) -> str:
    """The name under which the scripts keep a queue's usual calls an hour at an hour of a
    weekday (0 = Monday): ``rate:A@tue09``."""
    return f"rate:{queue}@{WEEKDAYS[weekday]}{hour:02d}"


def usual_rate(learn: Mapping[str, float], queue: str, weekday: int, hour: int) -> float | None:
    """How many of a queue's people are usually called in an hour of a weekday; None while
    fewer than ``USUAL_MIN_DAYS`` such hours were seen."""
    name = rate_field(queue, weekday, hour)
    value, n = learn.get(name), learn.get(name + ":n", 0.0)
    if value is None or n < USUAL_MIN_DAYS or value <= 0:
        return None
    return value


def usual_waits(
    learn: Mapping[str, float], queue: str, local: datetime, positions: int
) -> list[float | None]:
    """The wait of each position (1 = next) at the usual rate of calls of this hour and the
    coming ones: an hour not learned goes at the rate of the hour before it. All None when
    this hour's rate is not known."""
    day, hour = local.weekday(), local.hour
    now = usual_rate(learn, queue, day, hour)
    if now is None:
        return [None] * positions
    rates = [now]
    for k in range(1, HOURS_AHEAD + 1):
        h = hour + k
        rates.append(usual_rate(learn, queue, (day + h // 24) % 7, h % 24) or rates[-1])
    left_s = 3600.0 - (local.minute * 60 + local.second + local.microsecond / 1e6)
    out: list[float | None] = []
    for position in range(1, positions + 1):
        # This hour's remaining calls first, then whole hours at their rates.
        work, t, span = float(position), 0.0, left_s
        for rate in rates:
            if work <= rate * span / 3600:
                t += work / rate * 3600
                work = 0.0
                break
            work -= rate * span / 3600
            t += span
            span = 3600.0
        out.append(t + work / rates[-1] * 3600)
    return out


def with_usual(forecast_s: float | None, usual_s: float | None) -> float | None:
    """The forecast of the moment and the usual hours', weighed."""
    if forecast_s is None or usual_s is None:
        return forecast_s
    return USUAL_WEIGHT * usual_s + (1 - USUAL_WEIGHT) * forecast_s
