"""How long until a ticket is called - and how sure we are - without I/O.

The estimate plays the coming minutes forward, deterministically: every open counter
finishes its current ticket (its expected remaining time), then takes the next ticket from
the first queue in its order of preference that has someone waiting - counting the people
expected to arrive in the queues it prefers, which take its time first. The moment a
position is reached is its estimated wait.

Service times are learned: a recent-weighted mean of how long a counter was busy per ticket
(its service, a no-show's wait, all of it), per queue and per counter and queue, shrunk
towards the configured ``service_minutes`` while there are few observations. The range
comes from calibration: recent (estimate, actual) pairs give the band of ratios that
actual waits fell into (see ``scripts/lib.lua``), so "10-20 Min." means what it says.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

#: How many observations the configured service time is worth (cold start).
PRIOR_WEIGHT = 3.0
#: How many observations a queue's mean is worth against one counter's own mean.
COUNTER_WEIGHT = 5.0
#: A ticket in service still needs at least this share of a service (long tails).
MIN_REMAINING = 0.3
#: Nobody is told a wait beyond this; further positions are "unknown".
HORIZON_S = 8 * 3600
#: Floors for what is learned: odd data (tickets closed within seconds, a burst of
#: presses) must not make the forecast play hours forward in millisecond steps.
MIN_SERVICE_S = 30.0
MIN_GAP_S = 10.0
#: A hard bound on the forecast's steps (it runs on the hub's event loop).
MAX_STEPS = 20_000
#: Without calibration yet: the band of actual/estimate ratios assumed.
DEFAULT_BAND = (0.55, 1.7)
#: Added before taking ratios (the same as BAND_SMOOTH_S in scripts/__init__.py).
BAND_SMOOTH_S = 120.0


@dataclass(frozen=True, slots=True)
class Learned:
    """What the Lua scripts learned, as means with their number of observations."""

    service: Mapping[str, tuple[float, int]]  # "A" or "A:3" (queue:counter) -> (s, n)
    gap: Mapping[str, tuple[float, int]]  # queue -> mean seconds between arrivals
    band: tuple[float, float] | None  # calibrated ratio band, None until enough pairs

    @classmethod
    def parse(cls, raw: Mapping[str, float]) -> Learned:
        service: dict[str, tuple[float, int]] = {}
        gap: dict[str, tuple[float, int]] = {}
        for field, value in raw.items():
            if field.endswith(":n"):
                continue
            count = int(raw.get(field + ":n", 0))
            if field.startswith("svc:"):
                service[field[4:]] = (float(value), count)
            elif field.startswith("gap:"):
                gap[field[4:]] = (float(value), count)
        band = None
        if "band_lo" in raw and "band_hi" in raw:
            band = (float(raw["band_lo"]), float(raw["band_hi"]))
        return cls(service=service, gap=gap, band=band)


NOTHING_LEARNED = Learned(service={}, gap={}, band=None)


@dataclass(frozen=True, slots=True)
class CounterNow:
    """An open counter as the estimate sees it."""

    id: str
    queues: tuple[str, ...]  # most preferred first
    busy_queue: str | None  # the queue of the ticket it has now, if any
    busy_for_s: float = 0.0  # since that ticket was called


def service_s(learned: Learned, queue: str, counter: str, prior_s: float) -> float:
    """Expected seconds a counter is busy with one ticket of a queue."""
    q_mean, q_n = learned.service.get(queue, (prior_s, 0))
    queue_s = (q_n * q_mean + PRIOR_WEIGHT * prior_s) / (q_n + PRIOR_WEIGHT)
    c_mean, c_n = learned.service.get(f"{queue}:{counter}", (queue_s, 0))
    return max(MIN_SERVICE_S, (c_n * c_mean + COUNTER_WEIGHT * queue_s) / (c_n + COUNTER_WEIGHT))


def arrival_gap_s(learned: Learned, queue: str) -> float | None:
    """Mean seconds between arrivals once a few were seen; None = assume none come."""
    gap, n = learned.gap.get(queue, (0.0, 0))
    return max(MIN_GAP_S, gap) if n >= 3 and gap > 0 else None


Service = Callable[[str, str], float]  # (counter, queue) -> seconds


def forecast(counters: Sequence[CounterNow], waiting: Mapping[str, int], service: Service,
             gaps: Mapping[str, float | None], extra: Mapping[str, int] | None = None,
             horizon_s: float = HORIZON_S) -> dict[str, list[float | None]]:
    """Seconds until each position (1 = next) of each queue is called; ``extra`` adds
    positions to a queue for tickets issued now. None: not within the horizon."""
    targets = {q: n + (extra or {}).get(q, 0) for q, n in waiting.items()}
    result: dict[str, list[float | None]] = {q: [None] * n for q, n in targets.items()}
    taken = dict.fromkeys(targets, 0)  # taken so far: first those waiting, then arrivals
    left = sum(targets.values())

    def arrived(q: str, t: float) -> int:
        gap = gaps.get(q)
        return int(t // gap) if gap else 0

    def next_arrival(q: str) -> float | None:
        gap = gaps.get(q)
        return (taken[q] - targets[q] + 1) * gap if gap else None

    heap: list[tuple[float, int, CounterNow]] = []
    for i, c in enumerate(counters):
        start = 0.0
        if c.busy_queue is not None:
            mean = service(c.id, c.busy_queue)
            start = max(mean - c.busy_for_s, MIN_REMAINING * mean)
        heap.append((start, i, c))
    heapq.heapify(heap)

    for _ in range(MAX_STEPS):
        if not heap or left <= 0:
            break
        t, i, c = heapq.heappop(heap)
        if t > horizon_s:
            break
        queue = next((q for q in c.queues
                      if q in targets and taken[q] < targets[q] + arrived(q, t)), None)
        if queue is None:
            # Nothing for this counter now: it waits for the next arrival in its queues.
            arrivals = [a for q in c.queues if q in targets
                        and (a := next_arrival(q)) is not None]
            if arrivals:
                heapq.heappush(heap, (max(t, min(arrivals)), i, c))
            continue
        k = taken[queue]
        taken[queue] += 1
        if k < targets[queue]:
            result[queue][k] = t
            left -= 1
        heapq.heappush(heap, (t + service(c.id, queue), i, c))
    return result


def forecast_with_newcomers(counters: Sequence[CounterNow], waiting: Mapping[str, int],
                            service: Service, gaps: Mapping[str, float | None],
                            horizon_s: float = HORIZON_S) -> dict[str, list[float | None]]:
    """Every waiting position, plus one more per queue: the wait of a ticket taken now.

    The people waiting are played forward as they are; each queue's newcomer in a run of
    its own, so that a hypothetical ticket in one queue never delays another's."""
    waits = forecast(counters, waiting, service, gaps, horizon_s=horizon_s)
    for queue, n in waiting.items():
        alone = forecast(counters, waiting, service, gaps, extra={queue: 1},
                         horizon_s=horizon_s)
        waits[queue].append(alone[queue][n])
    return waits


def wait_range(estimate_s: float, band: tuple[float, float] | None) -> tuple[int, int]:
    """The range the actual wait is expected in (the calibrated band around the estimate)."""
    lo, hi = band or DEFAULT_BAND
    low = max(0.0, (estimate_s + BAND_SMOOTH_S) * lo - BAND_SMOOTH_S)
    high = max(low, (estimate_s + BAND_SMOOTH_S) * hi - BAND_SMOOTH_S)
    return math.floor(low), math.ceil(high)


def fixed_rule_s(ahead: int, service_s: float, open_counters: int) -> int | None:
    """The rule offices use: people waiting ahead x minutes per person / open counters."""
    if open_counters <= 0:
        return None
    return int(ahead * service_s / open_counters)
