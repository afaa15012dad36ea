"""A realistic office day, as a model: who arrives when, how long each service takes.

Pure and seeded: the same scenario and seed give the same day. Arrivals follow a
time-of-day profile (a non-homogeneous Poisson process); service times have a long tail
(lognormal) around a mean that drifts during the day and differs per counter; about 5% of
the people called do not come. The configured ``service_minutes`` are deliberately off
from the truth, as in real offices.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

HOUR = 3600.0


@dataclass(frozen=True)
class QueueModel:
    id: str
    share: float  # of all arrivals
    service_s: float  # true mean service time at the start of the day
    drift_per_hour: float = 0.0  # e.g. 0.08: 8% longer with every hour of the day
    configured_factor: float = 1.0  # service_minutes as configured = truth x this


@dataclass(frozen=True)
class CounterModel:
    id: str
    queues: tuple[str, ...]  # most preferred first
    speed: float = 1.0  # this advisor's times = the queue's x this
    shifts: tuple[tuple[float, float], ...] = ((0.0, 24 * HOUR),)  # open from, until (s)


@dataclass(frozen=True)
class Scenario:
    name: str
    queues: tuple[QueueModel, ...]
    counters: tuple[CounterModel, ...]
    arrivals_per_hour: Callable[[float], float]  # at t seconds after the start
    arrivals_until_s: float = 4.5 * HOUR
    no_show_rate: float = 0.05
    no_show_wait_s: float = 150.0  # how long a counter waits before marking a no-show
    service_sigma: float = 0.6  # lognormal shape: the long tail
    backlog: int = 0  # people already waiting when the doors open

    @property
    def queue_by_id(self) -> dict[str, QueueModel]:
        return {q.id: q for q in self.queues}

    def mean_service_s(self, queue: str, counter: str, t: float) -> float:
        """The true mean service time right now (what only an oracle knows)."""
        q = self.queue_by_id[queue]
        speed = next(c.speed for c in self.counters if c.id == counter)
        return q.service_s * (1 + q.drift_per_hour * t / HOUR) * speed

    def mean_busy_s(self, queue: str, counter: str, t: float) -> float:
        """How long the counter is busy per ticket on average, no-shows included."""
        served = self.mean_service_s(queue, counter, t)
        return (1 - self.no_show_rate) * served + self.no_show_rate * self.no_show_wait_s

    def configured_minutes(self) -> dict[str, float]:
        return {q.id: round(q.service_s * q.configured_factor / 60, 1) for q in self.queues}


@dataclass(frozen=True)
class DayPlan:
    """What happens regardless of how the office reacts: arrivals and counter hours."""

    arrivals: tuple[tuple[float, str], ...]  # (t, queue)
    counter_events: tuple[tuple[float, str, bool], ...]  # (t, counter, open?)
    seed: int


def plan_day(scenario: Scenario, seed: int) -> DayPlan:
    """The day's arrivals (thinned Poisson process) and the counters' shifts."""
    rng = random.Random(seed)
    peak = (
        max(scenario.arrivals_per_hour(t) for t in range(0, int(scenario.arrivals_until_s) + 1, 60))
        or 1.0
    )
    shares = [q.share for q in scenario.queues]
    arrivals: list[tuple[float, str]] = [
        (rng.uniform(0, 30), rng.choices(scenario.queues, weights=shares)[0].id)
        for _ in range(scenario.backlog)
    ]
    t = 0.0
    while t < scenario.arrivals_until_s:
        t += rng.expovariate(peak / HOUR)
        if t < scenario.arrivals_until_s and rng.random() < scenario.arrivals_per_hour(t) / peak:
            queue = rng.choices(scenario.queues, weights=shares)[0].id
            arrivals.append((t, queue))
    events = sorted(
        (t, c.id, is_open)
        for c in scenario.counters
        for start, end in c.shifts
        for t, is_open in ((start, True), (end, False))
    )
    return DayPlan(tuple(sorted(arrivals)), tuple(events), seed)


@dataclass
class Service:
    """How one call goes: the person does not come, or is served for ``seconds``."""

    no_show: bool
    seconds: float


@dataclass
class ServiceDraws:
    """Draws of service times and no-shows, from the day's own random stream."""

    scenario: Scenario
    seed: int
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed * 7919 + 1)

    def draw(self, queue: str, counter: str, t: float) -> Service:
        s = self.scenario
        if self.rng.random() < s.no_show_rate:
            return Service(True, s.no_show_wait_s)
        mean = s.mean_service_s(queue, counter, t)
        sigma = s.service_sigma
        # A lognormal with this mean: mu = ln(mean) - sigma^2 / 2.
        seconds = self.rng.lognormvariate(math.log(mean) - sigma * sigma / 2, sigma)
        return Service(False, max(30.0, seconds))


# --- scenarios ------------------------------------------------------------------------------


def _flat(rate: float) -> Callable[[float], float]:
    return lambda t: rate


def _rush(base: float, peak: float, until_h: float = 1.5) -> Callable[[float], float]:
    """A morning rush: ``peak`` per hour at opening, easing to ``base`` by ``until_h``."""

    def rate(t: float) -> float:
        h = t / HOUR
        return peak - (peak - base) * min(1.0, h / until_h)

    return rate


# A Jobcenter location: a reception zone (short talks) and benefits (long ones).
_QUEUES = (
    QueueModel("A", share=0.72, service_s=5 * 60, drift_per_hour=0.06, configured_factor=0.6),
    QueueModel("B", share=0.28, service_s=13 * 60, drift_per_hour=0.10, configured_factor=1.45),
)
_COUNTERS = (
    CounterModel("1", ("A",), speed=0.9),
    CounterModel("2", ("A", "B"), speed=1.0),
    CounterModel("3", ("B", "A"), speed=1.15),
    CounterModel("4", ("B",), speed=1.05),
)

SCENARIOS: Mapping[str, Scenario] = {
    "steady": Scenario("steady", _QUEUES, _COUNTERS, _flat(29)),
    "morning_rush": Scenario("morning_rush", _QUEUES, _COUNTERS, _rush(base=25, peak=50)),
    "counter_closes_at_10": Scenario(
        "counter_closes_at_10",
        _QUEUES,
        (
            _COUNTERS[0],
            _COUNTERS[1],
            CounterModel("3", ("B", "A"), speed=1.15, shifts=((0.0, 2 * HOUR),)),
            _COUNTERS[3],
        ),
        _flat(27),
    ),
}


def scenario_for(
    queues: Sequence[tuple[str, float]],
    counters: Sequence[tuple[str, Sequence[str]]],
    seed: int,
    arrivals_per_hour: float,
    hours: float = 4.5,
    backlog: int = 0,
    work_on_h: float = 1.5,
) -> Scenario:
    """A plausible day for a configured location (queue id, service_minutes; counters
    with their queues): true times 0.7-1.4x the configured ones, a morning rush, one
    advisor's break mid-morning; the counters work on for ``work_on_h`` after the last
    arrival."""
    rng = random.Random(seed)
    total = sum(1 / m for _, m in queues)  # short services are asked for more often
    end = (hours + work_on_h) * HOUR
    pause = (0.4 * hours * HOUR, 0.4 * hours * HOUR + 20 * 60)  # a 20-minute break
    return Scenario(
        name="configured",
        queues=tuple(
            QueueModel(
                q,
                share=(1 / minutes) / total,
                service_s=minutes * 60 * rng.uniform(0.7, 1.4),
                drift_per_hour=rng.uniform(0.0, 0.1),
            )
            for q, minutes in queues
        ),
        counters=tuple(
            CounterModel(
                c,
                tuple(qs),
                speed=rng.uniform(0.85, 1.2),
                shifts=((0.0, pause[0]), (pause[1], end))
                if i == len(counters) - 1 and len(counters) > 1
                else ((0.0, end),),
            )
            for i, (c, qs) in enumerate(counters)
        ),
        arrivals_per_hour=_rush(base=arrivals_per_hour, peak=arrivals_per_hour * 1.8),
        arrivals_until_s=hours * HOUR,
        backlog=backlog,
    )
