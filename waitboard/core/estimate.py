"""How long until a ticket is called - and how sure we are - without I/O.

The estimate plays the coming minutes forward, deterministically: every open counter
finishes its current ticket (its expected remaining time), then takes the next ticket from
the queue ``domain.pick_queue`` names (the rule ``call_next.lua`` applies) - counting the
people expected to arrive in the queues it prefers, which take its time first. The moment a
position is reached is its estimated wait.

Service times are learned: a recent-weighted mean of how long a counter was busy per ticket
(its service, a no-show's wait, all of it), per queue and per counter and queue, shrunk
towards the configured ``service_minutes`` while there are few observations. Offices
repeat their day (slow afternoons), so the mean of the same hour on earlier days is
blended in: yesterday's afternoon does not make this morning look slow. The range
comes from calibration: the ratios actual / estimate that recent waits of the same size
of estimate fell into (``scripts/lib.lua``), so "10-20 Min." means what it says. Ratios,
because a long wait goes wrong mostly by a rate (the coming hour slower than it seemed),
which stretches all of it: on a real office's year (benchmarks/replay.py) they held 54 %
of waits of 30 minutes and more, differences scaled by the square root of the estimate
49 %, at the same MAE. Where a queue's counters serve it alone, the pace of its calls
and the usual hours take the counters' place (``core/pace.py``, ``core/usual.py``).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from waitboard.core.domain import pick_queue
from waitboard.core.pace import Pace

#: How many observations the configured service time is worth (cold start).
PRIOR_WEIGHT = 3.0
#: How many observations a queue's mean is worth against one counter's own mean.
COUNTER_WEIGHT = 5.0
#: Observations of an hour (across days) before that hour's mean is used.
HOURLY_MIN_N = 5
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
#: Without calibration yet: the band of errors assumed, as the logarithm of actual /
#: estimate (about 0.6x to 1.65x the forecast).
DEFAULT_BAND_LOW, DEFAULT_BAND_HIGH = -0.5, 0.5
#: Errors are ratios of (wait + this), ln((actual + s) / (estimate + s)): a "now" that
#: became two minutes is a ratio of 3, not an endless one (the scripts use the same).
BAND_OFFSET_S = 60.0
#: Estimate sizes with a band of their own (the scripts use the same).
BAND_BUCKETS_S = (300, 900, 1800)


@dataclass(frozen=True, slots=True)
class Band:
    """Errors of recent tickets as ln((actual + s) / (forecast + s)) (``BAND_OFFSET_S``):
    the low and high quantile, and the median. Kept by the scripts as ``ratio_lo``,
    ``ratio_hi``, ``ratio_mid`` (a suffix ``@b`` for the size ``b``)."""

    low: float
    high: float
    mid: float = 0.0

    @classmethod
    def parse(cls, raw: Mapping[str, float], suffix: str) -> Band | None:
        if f"ratio_lo{suffix}" not in raw or f"ratio_hi{suffix}" not in raw:
            return None
        return cls(
            float(raw[f"ratio_lo{suffix}"]),
            float(raw[f"ratio_hi{suffix}"]),
            float(raw.get(f"ratio_mid{suffix}", 0.0)),
        )


@dataclass(frozen=True, slots=True)
class Learned:
    """What the Lua scripts learned, as means with their number of observations."""

    service: Mapping[str, tuple[float, int]]  # "A", "A:3" (queue:counter), "A@09" (hour)
    gap: Mapping[str, tuple[float, int]]  # queue -> mean seconds between arrivals
    band: Band | None  # calibrated over all pairs, None until there are enough
    bands: Mapping[int, Band] = field(default_factory=dict)  # per estimate size
    pace: Mapping[str, Pace] = field(default_factory=dict)  # queue -> its pace of calls

    @classmethod
    def parse(cls, raw: Mapping[str, float]) -> Learned:
        service: dict[str, tuple[float, int]] = {}
        gap: dict[str, tuple[float, int]] = {}
        pace: dict[str, Pace] = {}
        for name, value in raw.items():
            if name.endswith(":n"):
                continue
            count = int(raw.get(name + ":n", 0))
            if name.startswith("svc:"):
                service[name[4:]] = (float(value), count)
            elif name.startswith("gap:"):
                gap[name[4:]] = (float(value), count)
            elif name.startswith("pace:"):
                pace[name[5:]] = Pace.parse(raw, name[5:])
        return cls(
            service=service,
            gap=gap,
            pace=pace,
            band=Band.parse(raw, ""),
            bands={
                b: band
                for b in range(len(BAND_BUCKETS_S) + 1)
                if (band := Band.parse(raw, f"@{b}")) is not None
            },
        )

    def band_for(self, estimate_s: float) -> Band | None:
        """The calibrated band for an estimate of this size (or over all sizes)."""
        bucket = sum(1 for edge in BAND_BUCKETS_S if estimate_s >= edge)
        return self.bands.get(bucket, self.band)


NOTHING_LEARNED = Learned(service={}, gap={}, band=None)


@dataclass(frozen=True, slots=True)
class CounterNow:
    """An open counter as the estimate sees it (a paused one: free in ``free_in_s``)."""

    id: str
    queues: tuple[str, ...]  # most preferred first
    busy_queue: str | None  # the queue of the ticket it has now, if any
    busy_for_s: float = 0.0  # since that ticket was called
    free_in_s: float = 0.0  # a paused counter: back this many seconds from now


def service_s(
    learned: Learned, queue: str, counter: str, prior_s: float, hour: int | None = None
) -> float:
    """Expected seconds a counter is busy with one ticket of a queue (at a local hour)."""
    q_mean, q_n = learned.service.get(queue, (prior_s, 0))
    recent_s = (q_n * q_mean + PRIOR_WEIGHT * prior_s) / (q_n + PRIOR_WEIGHT)
    queue_s = recent_s
    if hour is not None:
        h_mean, h_n = learned.service.get(f"{queue}@{hour:02d}", (recent_s, 0))
        if h_n >= HOURLY_MIN_N:
            queue_s = (recent_s + h_mean) / 2
    # A counter's own mean says how fast it is relative to its queue's recent mean; that
    # speed is applied to the (possibly hour-blended) queue mean.
    c_mean, c_n = learned.service.get(f"{queue}:{counter}", (recent_s, 0))
    counter_s = c_mean * queue_s / recent_s
    blended = (c_n * counter_s + COUNTER_WEIGHT * queue_s) / (c_n + COUNTER_WEIGHT)
    return max(MIN_SERVICE_S, blended)


def arrival_gap_s(learned: Learned, queue: str) -> float | None:
    """Mean seconds between arrivals once a few were seen; None = assume none come."""
    gap, n = learned.gap.get(queue, (0.0, 0))
    return max(MIN_GAP_S, gap) if n >= 3 and gap > 0 else None


Service = Callable[[str, str], float]  # (counter, queue) -> seconds


@dataclass(frozen=True, slots=True)
class Booked:
    """An appointment queue in the forecast: when (seconds from now; 0 or less: already)
    each person waiting may be called, in their order, and when the bookings of the rest
    of the day that have not arrived yet will be - they take counter time then, too."""

    waiting: Sequence[float] = ()
    expected: Sequence[float] = ()


#: Before a few days have been seen: the share of bookings assumed to come on time.
SHOW_UP_PRIOR = 0.85
SHOW_UP_PRIOR_DAYS = 2.0  # how many days the prior is worth


def show_up_share(learn: Mapping[str, float], queue: str) -> float:
    """The share of an appointment queue's bookings that come on time (the late ones wait
    as walk-ins, the others not at all), learned over days."""
    mean, n = learn.get(f"show:{queue}"), learn.get(f"show:{queue}:n", 0.0)
    if mean is None:
        return SHOW_UP_PRIOR
    share = (n * mean + SHOW_UP_PRIOR_DAYS * SHOW_UP_PRIOR) / (n + SHOW_UP_PRIOR_DAYS)
    return min(1.0, max(0.0, share))


def thinned(times: Sequence[float], share: float) -> list[float]:
    """Of bookings expected at ``times`` (sorted), the ``share`` that will come, spread
    evenly: the forecast is deterministic, so it counts whole people, not fractions."""
    return [t for i, t in enumerate(times) if math.floor((i + 1) * share) > math.floor(i * share)]


class _Run:
    """One forecast played forward: what each queue has given up so far and what is still
    to be placed. Every counter comes back to :meth:`step` when it is free."""

    def __init__(
        self,
        waiting: Mapping[str, int],
        service: Service,
        gaps: Mapping[str, float | None],
        extra: Mapping[str, int],
        only: str | None,
        appointments: Mapping[str, Booked],
    ) -> None:
        self.service, self.gaps, self.only, self.appointments = service, gaps, only, appointments
        self.targets = {q: n + extra.get(q, 0) for q, n in waiting.items() if q not in appointments}
        self.result: dict[str, list[float | None]] = {
            q: [None] * n for q, n in self.targets.items()
        }
        self.result.update({q: [None] * len(b.waiting) for q, b in appointments.items()})
        self.taken = dict.fromkeys(self.targets, 0)  # first those waiting, then arrivals
        self.seen = dict.fromkeys(appointments, 0)  # appointment queues: waiting taken so far
        self.came = dict.fromkeys(appointments, 0)  # ... and expected bookings taken so far
        # With ``only`` the run ends once that queue's last position is placed.
        self.left = (
            sum(self.targets.values()) + sum(len(b.waiting) for b in appointments.values())
            if only is None
            else 1
        )
        self.last_of_only = self.targets.get(only, 0) - 1 if only is not None else -1
        # A run asks for the same few (counter, queue) service times thousands of times.
        self.known: dict[tuple[str, str], float] = {}

    def service_of(self, counter: str, queue: str) -> float:
        key = (counter, queue)
        if key not in self.known:
            self.known[key] = self.service(counter, queue)
        return self.known[key]

    def first_free(self, c: CounterNow) -> float:
        """When a counter is first free: a busy one finishes its ticket's expected rest."""
        if c.busy_queue is None:
            return c.free_in_s
        mean = self.service_of(c.id, c.busy_queue)
        return max(mean - c.busy_for_s, MIN_REMAINING * mean)

    def next_arrival(self, q: str) -> float | None:
        gap = self.gaps.get(q)
        return (self.taken[q] - self.targets[q] + 1) * gap if gap else None

    def present(self, c: CounterNow, t: float) -> tuple[dict[str, int], dict[str, bool]]:
        """Who is there for counter ``c`` at ``t``, as ``pick_queue`` counts them: the
        people in each of its queues, and whether an appointment queue's first is due."""
        people: dict[str, int] = {}
        due: dict[str, bool] = {}
        for q in c.queues:
            if q in self.targets:
                # (those arrived by t counted in place: this runs at every step of every run)
                gap = self.gaps.get(q)
                people[q] = self.targets[q] + (int(t // gap) if gap else 0) - self.taken[q]
            elif (b := self.appointments.get(q)) is not None:
                seen, came = self.seen[q], self.came[q]
                expected_due = came < len(b.expected) and b.expected[came] <= t
                people[q] = len(b.waiting) - seen + expected_due
                due[q] = expected_due or (seen < len(b.waiting) and b.waiting[seen] <= t)
        return people, due

    def takes_waiting(self, q: str, t: float, due: bool) -> bool:
        """Whether an appointment queue's next is someone waiting rather than a booking
        still expected: the earlier of the two that is due (someone waiting when even), or
        someone early when none is due."""
        b, seen, came = self.appointments[q], self.seen[q], self.came[q]
        if not due or came >= len(b.expected) or b.expected[came] > t:
            return True
        return seen < len(b.waiting) and b.waiting[seen] <= b.expected[came]

    def call_appointment(self, q: str, t: float, due: bool) -> None:
        """Someone waiting is placed; a booking still expected only takes the counter's time."""
        if self.takes_waiting(q, t, due):
            self.result[q][self.seen[q]] = t
            self.seen[q] += 1
            self.left -= self.only is None
        else:
            self.came[q] += 1

    def call_walk_in(self, q: str, t: float) -> None:
        """The next in a walk-in queue: a position to place, or someone who arrived meanwhile."""
        k = self.taken[q]
        self.taken[q] += 1
        if k < self.targets[q]:
            self.result[q][k] = t
            if self.only is None or (q == self.only and k == self.last_of_only):
                self.left -= 1

    def next_coming(self, c: CounterNow, t: float) -> float | None:
        """Nothing for an idle counter now: it waits for the next arrival in its queues, or
        the next booking due (None: nobody will come)."""
        times = [
            a for q in c.queues if q in self.targets and (a := self.next_arrival(q)) is not None
        ]
        times += [
            b.expected[self.came[q]]
            for q in c.queues
            if (b := self.appointments.get(q)) is not None and self.came[q] < len(b.expected)
        ]
        return max(t, min(times)) if times else None

    def step(self, c: CounterNow, t: float) -> float | None:
        """Counter ``c``, free at ``t``, takes its next ticket as ``domain.pick_queue`` says;
        when it is free again (None: never within this run)."""
        people, due = self.present(c, t)
        queue = pick_queue(c.queues, people, due)
        if queue is None:
            return self.next_coming(c, t)
        if queue in self.appointments:
            self.call_appointment(queue, t, due[queue])
        else:
            self.call_walk_in(queue, t)
        return t + self.service_of(c.id, queue)


def forecast(
    counters: Sequence[CounterNow],
    waiting: Mapping[str, int],
    service: Service,
    gaps: Mapping[str, float | None],
    extra: Mapping[str, int] | None = None,
    horizon_s: float = HORIZON_S,
    only: str | None = None,
    booked: Mapping[str, Booked] | None = None,
) -> dict[str, list[float | None]]:
    """Seconds until each position (1 = next) of each queue is called; ``extra`` adds
    positions to a queue for tickets issued now. None: not within the horizon.

    ``booked``: the appointment queues. A counter takes, as ``domain.pick_queue`` does, an
    appointment that is due first, then walk-ins by its preference, then someone early for
    an appointment; bookings still expected take its time at their slot.

    ``only``: the caller needs the last position of this queue alone; the run stops once it
    is placed (the other positions may then be left None)."""
    run = _Run(waiting, service, gaps, extra or {}, only, booked or {})
    # Counters in the order they are free; the index keeps equal times in counter order.
    heap = [(run.first_free(c), i, c) for i, c in enumerate(counters)]
    heapq.heapify(heap)
    for _ in range(MAX_STEPS):
        if not heap or run.left <= 0:
            break
        t, i, c = heapq.heappop(heap)
        if t > horizon_s:
            break
        free_at = run.step(c, t)
        if free_at is not None:
            heapq.heappush(heap, (free_at, i, c))
    return run.result


def forecast_with_newcomers(
    counters: Sequence[CounterNow],
    waiting: Mapping[str, int],
    service: Service,
    gaps: Mapping[str, float | None],
    horizon_s: float = HORIZON_S,
    booked: Mapping[str, Booked] | None = None,
) -> dict[str, list[float | None]]:
    """Every waiting position, plus one more per queue: the wait of a ticket taken now.

    The people waiting are played forward as they are; each queue's newcomer in a run of
    its own, so that a hypothetical ticket in one queue never delays another's."""
    waits = forecast(counters, waiting, service, gaps, horizon_s=horizon_s, booked=booked)
    for queue, n in waiting.items():
        if booked and queue in booked:
            continue  # nobody joins an appointment queue but by their booked time
        alone = forecast(
            counters,
            waiting,
            service,
            gaps,
            extra={queue: 1},
            horizon_s=horizon_s,
            only=queue,
            booked=booked,
        )
        waits[queue].append(alone[queue][n])
    return waits


DEFAULT_BAND = Band(DEFAULT_BAND_LOW, DEFAULT_BAND_HIGH, 0.0)


def calibrated(forecast_s: float, band: Band | None) -> tuple[int, tuple[int, int]]:
    """The estimate to tell (the forecast, corrected by how far recent forecasts of this
    size were off) and the range the actual wait is expected in."""
    b = band or DEFAULT_BAND
    base = forecast_s + BAND_OFFSET_S
    low = max(0.0, base * math.exp(b.low) - BAND_OFFSET_S)
    high = max(low, base * math.exp(b.high) - BAND_OFFSET_S)
    told = min(high, max(low, base * math.exp(b.mid) - BAND_OFFSET_S))
    return round(told), (math.floor(low), math.ceil(high))


def fixed_rule_s(ahead: int, service_s: float, open_counters: int) -> int | None:
    """The rule offices use: people waiting ahead x minutes per person / open counters."""
    if open_counters <= 0:
        return None
    return int(ahead * service_s / open_counters)
