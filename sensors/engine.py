"""Plays an office day through an office: the real HTTP API, or the store on a simulated
clock. One engine for both, so the benchmark measures what the simulator does.

It records the ground truth of every ticket: when it was issued, what it was told (the
estimate and its range), when it was called, by which counter, how it ended.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sensors.office_day import DayPlan, Scenario, ServiceDraws

Json = dict[str, Any]


class Office(Protocol):
    """The commands the simulated people and advisors use."""

    async def open(self, counter: str) -> None: ...
    async def close(self, counter: str) -> None: ...
    async def issue(self, queue: str) -> Json | None:
        """The ticket, or None when the office turns the person away (ticket stop)."""

    async def call_next(self, counter: str) -> Json | None: ...
    async def start(self, ticket_id: str, counter: str) -> None: ...
    async def complete(self, ticket_id: str, counter: str) -> None: ...
    async def no_show(self, ticket_id: str, counter: str) -> None: ...


class Timeline(Protocol):
    """Simulated seconds since the day's start."""

    def now(self) -> float: ...
    async def until(self, t: float) -> None: ...


@dataclass
class DayResult:
    tickets: list[TicketTruth]
    turned_away: dict[str, int]  # queue -> people who got no ticket (ticket stop)


@dataclass
class TicketTruth:
    id: str
    number: str
    queue: str
    issued_t: float
    estimate_s: float | None
    range_s: tuple[float, float] | None
    called_t: float | None = None
    counter: str | None = None
    outcome: str = "unserved"  # done | no_show | unserved
    busy_s: float | None = None  # how long the counter was busy with it
    issued_at: str = ""  # as the server said (ISO, its clock)
    called_at: str = ""
    extra: dict[str, Any] = field(default_factory=dict)  # what a caller adds (baselines)

    @property
    def wait_s(self) -> float | None:
        # To the millisecond, as the server keeps times (no float dust below zero).
        return None if self.called_t is None else round(self.called_t - self.issued_t, 3)


@dataclass
class _Counter:
    id: str
    queues: tuple[str, ...]
    open: bool = False
    closing: bool = False
    busy: TicketTruth | None = None


OnIssue = Callable[[TicketTruth, Json], Awaitable[None]]


async def run_day(
    scenario: Scenario,
    plan: DayPlan,
    office: Office,
    timeline: Timeline,
    on_issue: OnIssue | None = None,
    max_events: int = 100_000,
) -> DayResult:
    """Play the day until every ticket has been served and the counters have closed."""
    draws = ServiceDraws(scenario, plan.seed)
    # Tickets from outside (real use beside the demo) draw from their own stream, so that
    # the simulated people's service times stay those of the seed.
    outside_draws = ServiceDraws(scenario, plan.seed + 1)
    counters = {c.id: _Counter(c.id, c.queues) for c in scenario.counters}
    tickets: dict[str, TicketTruth] = {}
    turned_away = {q.id: 0 for q in scenario.queues}
    order = itertools.count()
    events: list[tuple[float, int, str, Any]] = []
    for t, queue in plan.arrivals:
        heapq.heappush(events, (t, next(order), "arrive", queue))
    for t, counter, is_open in plan.counter_events:
        heapq.heappush(events, (t, next(order), "open" if is_open else "close", counter))

    async def try_call(c: _Counter) -> None:
        if not c.open or c.closing or c.busy is not None:
            return
        answer = await office.call_next(c.id)
        if answer is None:
            return
        now = timeline.now()
        ours = answer["id"] in tickets
        truth = tickets[answer["id"]] if ours else _someone_elses(answer, c, scenario, now)
        truth.called_t, truth.counter = now, c.id
        truth.called_at = str(answer.get("called_at") or "")
        c.busy = truth
        service = (draws if ours else outside_draws).draw(truth.queue, c.id, now)
        truth.outcome = "no_show" if service.no_show else "done"
        truth.busy_s = service.seconds
        if not service.no_show:
            await office.start(truth.id, c.id)
        heapq.heappush(events, (now + service.seconds, next(order), "done", c.id))

    for _ in range(max_events):
        if not events:
            break
        t, _, kind, what = heapq.heappop(events)
        await timeline.until(t)
        if kind == "arrive":
            answer = await office.issue(what)
            if answer is None:
                turned_away[what] += 1
                continue
            wait_range = answer.get("estimated_wait_range_s")
            truth = TicketTruth(
                id=answer["id"],
                number=answer["number"],
                queue=what,
                issued_t=t,
                estimate_s=answer.get("estimated_wait_s"),
                range_s=(float(wait_range[0]), float(wait_range[1])) if wait_range else None,
                issued_at=str(answer.get("issued_at") or ""),
            )
            tickets[truth.id] = truth
            if on_issue is not None:
                await on_issue(truth, answer)
            for c in counters.values():  # a free advisor sees the new number at once
                await try_call(c)
        elif kind == "open":
            c = counters[what]
            c.open, c.closing = True, False
            await office.open(c.id)
            await try_call(c)
        elif kind == "close":
            c = counters[what]
            if c.busy is not None:
                c.closing = True  # after the current person
            elif c.open:
                c.open = False
                await office.close(c.id)
        elif kind == "done":
            c = counters[what]
            finished = c.busy
            assert finished is not None
            c.busy = None
            if finished.outcome == "no_show":
                await office.no_show(finished.id, c.id)
            else:
                await office.complete(finished.id, c.id)
            if c.closing:
                c.open, c.closing = False, False
                await office.close(c.id)
            else:
                await try_call(c)
    return DayResult(list(tickets.values()), turned_away)


def _someone_elses(
    answer: dict[str, Any], c: _Counter, scenario: Scenario, now: float
) -> TicketTruth:
    """A ticket the simulation did not issue - a person at reception or the terminal while
    the demo runs: its advisor serves it like any other (as long as that queue's service
    usually takes), and the day's results leave it out."""
    queue = str(answer.get("queue") or "")
    known = {q.id for q in scenario.queues}
    return TicketTruth(
        id=str(answer["id"]),
        number=str(answer.get("number") or ""),
        queue=queue if queue in known else c.queues[0],
        issued_t=now,
        estimate_s=None,
        range_s=None,
    )


def report(day: DayResult) -> dict[str, Any]:
    """Counts and waits of a simulated day, per queue (in simulated seconds)."""
    out: dict[str, Any] = {}
    truths = day.tickets
    for queue in sorted({t.queue for t in truths} | set(day.turned_away)):
        mine = [t for t in truths if t.queue == queue]
        waits = sorted(t.wait_s for t in mine if t.wait_s is not None)
        out[queue] = {
            "issued": len(mine),
            "called": len(waits),
            "served": sum(t.outcome == "done" for t in mine),
            "no_show": sum(t.outcome == "no_show" for t in mine),
            "mean_wait_s": round(sum(waits) / len(waits), 1) if waits else None,
            "p90_wait_s": waits[int(0.9 * (len(waits) - 1))] if waits else None,
            "turned_away": day.turned_away.get(queue, 0),
        }
    return out
