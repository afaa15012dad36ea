"""The pace of a queue's calls: how fast its people are called just now.

The Lua scripts count a queue's calls, each fading with a time constant of ten minutes
(``scripts/lib.lua``, ``learn_pace``); the rate of calls read from that count
gives the wait of a position. Service times learned ticket by ticket follow a slowdown
only as the slow tickets end, and the number of counters at work says little of how fast
they are; the pace shows both at once, and a stall as soon as it begins (the count fades
while nobody is called). ``snapshot.forecast`` weighs it in where it applies.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

#: The count's time constant (the scripts count with it, too), and how many calls its
#: stretch must have had for it to say anything. Ten minutes followed a real office's
#: slowdowns better than a quarter of an hour (benchmarks/replay.py: MAE in jams 4.75 ->
#: 4.70 min over a year) and its noise did not cost more than that.
PACE_TAU_S = 10 * 60
PACE_MIN_CALLS = 5
#: Its weight against the counters played forward with their learned service times.
PACE_WEIGHT = 0.85


@dataclass(frozen=True, slots=True)
class Pace:
    """A queue's fading count of calls, in seconds."""

    count: float  # at ``at_s``
    at_s: float  # the last call
    from_s: float  # the first call of this stretch (a call after a long pause begins one)
    calls: int  # in this stretch

    @classmethod
    def parse(cls, raw: Mapping[str, float], queue: str) -> Pace:
        return cls(
            count=float(raw.get("pace:" + queue, 0)),
            at_s=float(raw.get("pace_at:" + queue, 0)) / 1000,
            from_s=float(raw.get("pace_from:" + queue, 0)) / 1000,
            calls=int(raw.get("pace_n:" + queue, 0)),
        )


def pace_wait_s(pace: Pace | None, position: int, now_s: float) -> float | None:
    """The wait of a position read from the pace of the queue's calls in about the last
    ten minutes or so: position x the time between calls. None: too few calls in this
    stretch, or none for a long while."""
    if pace is None or pace.calls < PACE_MIN_CALLS or now_s - pace.at_s > 4 * PACE_TAU_S:
        return None
    count = pace.count * math.exp(-max(0.0, now_s - pace.at_s) / PACE_TAU_S)
    # A steady rate r since the stretch began gives count = r tau (1 - e^(-T/tau)).
    window = PACE_TAU_S * -math.expm1(-max(1.0, now_s - pace.from_s) / PACE_TAU_S)
    return position * window / count


def pace_waits(
    pace: Pace | None, positions: int, now_ms: int, first: int | None = 1
) -> list[float | None]:
    """Each position's wait (1 = next) at the pace of the queue's calls, from position
    ``first`` on (None before it); all None without a pace, or where it does not apply
    (``first`` None)."""
    return [
        pace_wait_s(pace, p, now_ms / 1000) if first is not None and p >= first else None
        for p in range(1, positions + 1)
    ]


def with_pace(forecast_s: float | None, pace_s: float | None) -> float | None:
    """The counters' forecast and the pace's, weighed."""
    if forecast_s is None or pace_s is None:
        return forecast_s
    return PACE_WEIGHT * pace_s + (1 - PACE_WEIGHT) * forecast_s
