"""A queue's usual hours: how many of its people are called, as a rule, in an hour.

Most of what a forecast gets wrong on a real office's days is not knowing how fast the
coming hour will go - how many counters will work, how long their tickets will take. The
pace of the last ten minutes (``core/pace.py``) says how fast it goes just now, but
from a handful of calls; offices repeat their week, so what the same weekday's hour
usually brought is the other half of the answer. The Lua scripts learn, per queue, weekday
and hour, how many of its people were called in that hour - a recent-weighted mean over
the same weekday's earlier weeks (``scripts/lib.lua``, ``learn_hour``). A position's
usual wait plays it through this hour and the coming ones at their usual rates ("on
Tuesdays usually 24 an hour at 10:00, 12 at 12:00").

How it is weighed (``snapshot.forecast`` asks :func:`weighed`):

* where the pace of the queue's calls is known, pace and usual hours are weighed *as
  rates*: "the last ten minutes called 18 an hour, Tuesdays at this hour usually 24: a
  wait of about 20 minutes is reckoned at 21 an hour". The pace says most about the next
  minutes, the usual hours about the later ones, so the pace's weight falls with the
  wait: half at ``PACE_HORIZON_S``, four fifths at a quarter of it. The counters played
  forward with learned service times are left out there: on a real office's year
  (benchmarks/replay.py) they were the weakest part, and leaving them out took the MAE
  from 3.15 to 2.69 minutes (jams 5.20 -> 4.72; the pace applying then only where no
  counter was free - ``snapshot.paced_queues`` says where it applies now);
* where the usual hours are not known yet (fewer than ``USUAL_MIN_DAYS`` such days), the
  pace is weighed with the counters' forecast (``pace.with_pace``);
* where the pace does not apply (counters shared with other queues, the first in line
  while a counter is free, too few calls yet), the usual wait and the counters' forecast
  are weighed half and half.

Playing the forecast with the usual *number of counters* of the coming hours instead
was tried on a real office's days (benchmarks/replay.py's tickets of October 2019 and
February 2020) and did not help (MAE 5.19 -> 5.23 and 3.61 -> 3.62 min): how many
counters are open says little of how fast they go; the rate of calls says it directly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime

#: Same weekday and hour seen on this many days before its usual rate is used.
USUAL_MIN_DAYS = 3
#: Hours ahead looked at; beyond them a wait goes on at the last hour's rate.
HOURS_AHEAD = 8
#: The usual rate's weight against the counters played forward, where the pace of calls
#: does not apply.
USUAL_WEIGHT = 0.5
#: A wait this long weighs the pace of the moment and the usual hours alike; a shorter
#: one leans on the pace, a longer one on the usual hours.
PACE_HORIZON_S = 20 * 60
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
    """The counters' forecast and the usual hours', weighed."""
    if forecast_s is None or usual_s is None:
        return forecast_s
    return USUAL_WEIGHT * usual_s + (1 - USUAL_WEIGHT) * forecast_s


def as_rates(pace_s: float, usual_s: float) -> float:
    """The pace of the moment and the usual hours, weighed as rates (a geometric mean of
    the two waits is the wait at the geometric mean of the two rates); the pace's weight
    falls as the wait grows."""
    if pace_s <= 0 or usual_s <= 0:
        return max(pace_s, usual_s)
    weight = PACE_HORIZON_S / (PACE_HORIZON_S + math.sqrt(pace_s * usual_s))
    return math.exp(weight * math.log(pace_s) + (1 - weight) * math.log(usual_s))


def weighed(
    counters_s: float | None, paced_s: float | None, pace_s: float | None, usual_s: float | None
) -> float | None:
    """A position's wait from what is known of it: ``counters_s`` the counters played
    forward, ``paced_s`` those weighed with the pace (``pace.with_pace``), ``pace_s`` the
    pace alone, ``usual_s`` the usual hours (None: not known, or not applicable)."""
    if pace_s is not None and usual_s is not None:
        return as_rates(pace_s, usual_s)
    if pace_s is not None:
        return paced_s
    return with_usual(counters_s, usual_s)
