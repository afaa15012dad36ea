"""Plays an office day through an office: the real HTTP API, or the store on a simulated
clock. One engine for both, so the benchmark measures what the simulator does.

It records the ground truth of every ticket: when it was issued, what it was told (the
estimate and its range), when it was called, by which counter, how it ended.

The office is shared: staff may call, start, finish, transfer or cancel tickets and open
or close counters by hand while the simulation runs, and the service day may end at
midnight under it. The engine never assumes its picture is the office's. Every counter
command answers with the counter as the office found it, and a ticket command that came
too late (someone else acted first) frees the counter for its next call, which again says
how the counter really is. A counter found busy with a ticket it did not call is served on
from there; one found closed while its advisor is at work opens again after a short break.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sensors.office_day import DayPlan, Scenario, ServiceDraws

Json = dict[str, Any]

#: A counter found closed while its advisor is at work (closed by hand, or by the end of
#: the service day at midnight) opens again after this break (simulated seconds).
AWAY_S = 5 * 60.0


@dataclass(frozen=True)
class CounterView:
    """A counter as the office says it is now: open or not, and the ticket called to it or
    being served there (``id``, ``queue``, ``status``, ``called_at``), or None when free."""

    open: bool
    ticket: Json | None = None


class Office(Protocol):
    """The commands the simulated people and advisors use. None from a counter command:
    the office could not be asked (it stays unreachable); the engine goes on as it was."""

    async def open(self, counter: str) -> CounterView | None: ...
    async def close(self, counter: str) -> CounterView | None:
        """Closed; or still open with the ticket that keeps it busy."""

    async def issue(self, queue: str) -> Json | None:
        """The ticket, or None when the person gets none (ticket stop, office away)."""

    async def call_next(self, counter: str) -> CounterView | None:
        """The counter with the ticket just called (``ticket`` None: nobody waits) - or as
        it was found: closed, or busy with a ticket called by other hands."""

    async def start(self, ticket_id: str, counter: str) -> bool:
        """True when done as asked; False when the ticket had moved on (someone else
        acted first, or the office could not be asked)."""

    async def complete(self, ticket_id: str, counter: str) -> bool: ...
    async def no_show(self, ticket_id: str, counter: str) -> bool: ...


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
    on_shift: bool = False  # its advisor is at work (the day's plan)
    open: bool = False  # as the office last said
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
    return await _Day(scenario, plan, office, timeline, on_issue).run(max_events)


class _Day:
    """One day's events in time order: arrivals, shifts that start and end, services that
    end, and advisors looking again at a counter they found closed."""

    def __init__(
        self,
        scenario: Scenario,
        plan: DayPlan,
        office: Office,
        timeline: Timeline,
        on_issue: OnIssue | None,
    ) -> None:
        self.scenario = scenario
        self.office = office
        self.timeline = timeline
        self.on_issue = on_issue
        self.draws = ServiceDraws(scenario, plan.seed)
        # Tickets from outside (real use beside the demo) draw from their own stream, so
        # that the simulated people's service times stay those of the seed.
        self.outside_draws = ServiceDraws(scenario, plan.seed + 1)
        self.counters = {c.id: _Counter(c.id, c.queues) for c in scenario.counters}
        self.tickets: dict[str, TicketTruth] = {}
        self.turned_away = {q.id: 0 for q in scenario.queues}
        self.order = itertools.count()
        self.events: list[tuple[float, int, str, Any]] = []
        for t, queue in plan.arrivals:
            self.push(t, "arrive", queue)
        for t, counter, is_open in plan.counter_events:
            self.push(t, "open" if is_open else "close", counter)

    def push(self, t: float, kind: str, what: Any) -> None:
        heapq.heappush(self.events, (t, next(self.order), kind, what))

    async def run(self, max_events: int) -> DayResult:
        for _ in range(max_events):
            if not self.events:
                break
            t, _, kind, what = heapq.heappop(self.events)
            await self.timeline.until(t)
            if kind == "arrive":
                await self.arrive(t, what)
            elif kind == "done":
                await self.done(*what)
            else:
                c = self.counters[what]
                if kind == "open":
                    c.on_shift = True
                    await self.seen(c, await self.office.open(c.id))
                    await self.try_call(c)
                elif kind == "close":
                    c.on_shift = False
                    if c.busy is None and c.open:  # else: after the current person
                        await self.seen(c, await self.office.close(c.id))
                elif kind == "look":
                    await self.free(c)
        return DayResult(list(self.tickets.values()), self.turned_away)

    async def arrive(self, t: float, queue: str) -> None:
        answer = await self.office.issue(queue)
        if answer is None:
            self.turned_away[queue] += 1
            return
        wait_range = answer.get("estimated_wait_range_s")
        truth = TicketTruth(
            id=answer["id"],
            number=answer["number"],
            queue=queue,
            issued_t=t,
            estimate_s=answer.get("estimated_wait_s"),
            range_s=(float(wait_range[0]), float(wait_range[1])) if wait_range else None,
            issued_at=str(answer.get("issued_at") or ""),
        )
        self.tickets[truth.id] = truth
        if self.on_issue is not None:
            await self.on_issue(truth, answer)
        for c in self.counters.values():  # a free advisor sees the new number at once
            await self.try_call(c)

    async def try_call(self, c: _Counter) -> None:
        if not c.on_shift or not c.open or c.busy is not None:
            return
        view = await self.office.call_next(c.id)
        if view is not None and not (view.open and view.ticket is None):  # someone, or news
            await self.seen(c, view)

    async def done(self, counter: str, ticket_id: str) -> None:
        c = self.counters[counter]
        finished = c.busy
        if finished is None or finished.id != ticket_id:
            return  # the counter moved on from that ticket meanwhile
        c.busy = None
        # Refused (someone else finished, transferred or cancelled it): the counter is
        # free all the same, and its next call says how it is.
        if finished.outcome == "no_show":
            await self.office.no_show(finished.id, c.id)
        else:
            await self.office.complete(finished.id, c.id)
        await self.free(c)

    async def free(self, c: _Counter) -> None:
        """The counter has nobody (again): it closes when its advisor's shift is over, is
        opened again when found closed during it, and otherwise calls the next person."""
        if c.busy is not None:
            return
        if not c.on_shift:
            if c.open:
                await self.seen(c, await self.office.close(c.id))
            return
        if not c.open:
            await self.seen(c, await self.office.open(c.id))
        await self.try_call(c)

    async def seen(self, c: _Counter, view: CounterView | None) -> None:
        """Take the counter as the office says it is: closed, or busy with a ticket."""
        if view is not None:
            c.open = view.open
            if not view.open:
                c.busy = None
            elif view.ticket is not None and (c.busy is None or c.busy.id != view.ticket["id"]):
                await self.serve(c, view.ticket)
        if c.on_shift and not c.open:
            self.push(self.timeline.now() + AWAY_S, "look", c.id)

    async def serve(self, c: _Counter, answer: Json) -> None:
        """The counter serves this ticket: called just now, or found called or being
        served there (by other hands), in which case it goes on from where that left it."""
        now = self.timeline.now()
        ours = answer["id"] in self.tickets
        truth = (
            self.tickets[answer["id"]] if ours else _someone_elses(answer, c, self.scenario, now)
        )
        truth.called_t, truth.counter = now, c.id
        truth.called_at = str(answer.get("called_at") or "")
        c.busy = truth
        for other in self.counters.values():
            if other is not c and other.busy is not None and other.busy.id == truth.id:
                # It moved on from there (transferred by hand): that counter is free, and
                # does not finish a ticket now served here.
                other.busy = None
                self.push(now, "look", other.id)
        service = (self.draws if ours else self.outside_draws).draw(truth.queue, c.id, now)
        serving = answer.get("status") == "serving"
        truth.outcome = "no_show" if service.no_show and not serving else "done"
        truth.busy_s = service.seconds
        if truth.outcome == "done" and not serving and not await self.office.start(truth.id, c.id):
            # It moved on between the call and the start: the counter looks again at once.
            c.busy = None
            self.push(now, "look", c.id)
            return
        self.push(now + service.seconds, "done", (c.id, truth.id))


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
