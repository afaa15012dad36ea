"""Truthful waits on real days: a real office's year replayed through waitboard's estimate.

Each day of the Münster Bürgerbüro's waiting-zone record (``benchmarks/muenster.py``
derives its arrivals, calls and counters at work) is replayed through the real store - the
Lua scripts on a real Redis - on a simulated clock, so a day takes about a second and no
speed-up distorts a service time. Every arrival draws a ticket in one walk-in queue, every
derived call is a counter's ``call_next``; learning carries over from day to day as in an
office. For each ticket the replay keeps what it was told at issue and the wait that
followed. The waits come from the derivation alone (first come, first served at the
derived call times), so they do not move with the estimator.

On the same tickets it records the baselines:

* ``fixed rule``: position x configured minutes / open counters, the minutes set once from
  the first month of the run (counter-minutes at work per call), as an office would;
* ``last 30``: the mean wait of the last 30 people called that day;
* ``published``: what the city's display showed at that moment (``durchschnittliche
  Wartezeit``): the number the real citizens were given.

And one reference no office has, to show what the data allow: ``hour known``, the fixed
rule told the counters the hour's own calls give (hindsight; not a baseline).

    .venv/bin/python benchmarks/replay.py --data DIR [--from DAY] [--to DAY] [--json OUT]
        [--out docs]

``--out`` writes the results into ``docs/estimates.md`` (between its "real days" marks)
and the plot of a jam day into ``docs/replay-jam.png``. The run ends with one line:
``replay: D days, T tickets; MAE waitboard X min, fixed Y min, last-30 Z min, published
P min; mean wait W min; in range R %``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import statistics
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.muenster import DerivedDay, derive, read_day  # noqa: E402
from waitboard.core import snapshot  # noqa: E402
from waitboard.core.domain import Action  # noqa: E402
from waitboard.core.estimate import fixed_rule_s  # noqa: E402
from waitboard.core.office import Location, Office, parse_office  # noqa: E402
from waitboard.services import tickets as commands  # noqa: E402
from waitboard.store.embedded import EmbeddedRedis  # noqa: E402
from waitboard.store.office_store import Store  # noqa: E402
from waitboard.store.redis import connect  # noqa: E402

BERLIN = ZoneInfo("Europe/Berlin")
LOCATION, QUEUE = "ms", "W"
#: More counters than the derivation ever puts to work on one day.
MAX_COUNTERS = 24
METHODS = ("waitboard", "fixed rule", "last 30", "published")
#: Not a baseline: the fixed rule with the counters the hour turned out to have.
HINDSIGHT = "hour known"
#: A counter that calls nobody for this many configured service times was idle, not
#: serving: its ticket is completed then (the record does not say when it ended).
IDLE_AFTER_SERVICES = 3.0
#: At least this many people ahead at issue: a jam (people look up the wait then).
JAM_AHEAD = 10
MARK_BEGIN = "<!-- real days: begin (benchmarks/replay.py writes this part) -->"
MARK_END = "<!-- real days: end -->"


def office(minutes: float) -> Office:
    """The configuration the office would have written: one walk-in queue, its minutes."""
    all_day = dict.fromkeys(("mon", "tue", "wed", "thu", "fri", "sat", "sun"), "00:00-24:00")
    return parse_office(
        {
            "timezone": "Europe/Berlin",
            "locations": [
                {
                    "id": LOCATION,
                    "name": "Bürgerbüro Mitte",
                    "hours": all_day,
                    "queues": [
                        {"id": QUEUE, "name": "Bürgerbüro", "service_minutes": round(minutes)}
                    ],
                    "counters": [
                        {"id": str(i), "name": f"Platz {i}", "queues": [QUEUE]}
                        for i in range(1, MAX_COUNTERS + 1)
                    ],
                }
            ],
        },
        "replay",
    )


def configured_minutes(days: Iterable[DerivedDay]) -> float:
    """Counter-minutes at work per call over the given days (the first month): what an
    office would write as ``service_minutes`` after watching its counters for a month."""
    counter_min = calls = 0.0
    for d in days:
        for iv in d.intervals:
            if iv.calls:
                counter_min += iv.counters * (iv.end - iv.start).total_seconds() / 60
                calls += iv.calls
    return counter_min / calls if calls else 10.0


#: The roster: counters planned per weekday and hour from the calls of these past weeks.
ROSTER_WEEKS = 4
PER_COUNTER_CALLS_PER_HOUR = 6.0


def hourly_rates(d: DerivedDay) -> dict[int, float]:
    """Calls per hour of each clock hour of a day (a partial hour scaled up)."""
    calls: dict[int, float] = {}
    minutes: dict[int, float] = {}
    for iv in d.intervals:
        h = iv.start.hour
        calls[h] = calls.get(h, 0) + iv.calls
        minutes[h] = minutes.get(h, 0) + (iv.end - iv.start).total_seconds() / 60
    return {h: calls[h] * 60 / minutes[h] for h in calls if minutes[h] > 0}


def rostered(days: list[DerivedDay]) -> list[DerivedDay]:
    """The counters at work as an office plans them: per weekday and hour, from the calls
    of the same weekday and hour in the past ``ROSTER_WEEKS`` weeks (their median), at
    ``PER_COUNTER_CALLS_PER_HOUR`` per counter; a day without such history plans from its
    own hour. Not from the hour's own calls: that would hand every estimate - the fixed
    rule most - the throughput it is to predict."""
    rates = {d.day: hourly_rates(d) for d in days}
    out = []
    for d in days:
        past = [
            rates[p.day]
            for p in days
            if p.day.weekday() == d.day.weekday()
            and d.day - timedelta(weeks=ROSTER_WEEKS) <= p.day < d.day
        ]
        intervals = []
        for iv in d.intervals:
            h = iv.start.hour
            history = [r[h] for r in past if r.get(h, 0) > 0]
            planned = statistics.median(history) if history else rates[d.day].get(h, 0.0)
            counters = math.ceil(planned / PER_COUNTER_CALLS_PER_HOUR - 1e-9)
            intervals.append(
                replace(iv, counters=max(counters, 1 if iv.calls else 0), hour_counters=iv.counters)
            )
        out.append(replace(d, intervals=intervals))
    return out


@dataclass
class Told:
    """One ticket: what it was told at issue and how long it waited."""

    day: date
    issued: datetime
    ahead: int
    estimates: dict[str, float | None]
    range_s: tuple[float, float] | None
    wait_s: float | None = None


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2019, 1, 1, tzinfo=BERLIN)

    def __call__(self) -> datetime:
        return self.now


@dataclass(order=True)
class _Event:
    at: datetime
    order: int  # at the same moment: counters first, then arrivals, then calls
    seq: int
    kind: str = field(compare=False)
    value: Any = field(compare=False, default=None)


class DayReplay:
    """One derived day played through the store."""

    def __init__(self, store: Store, loc: Location, clock: Clock, minutes: float) -> None:
        self.store, self.loc, self.clock, self.minutes = store, loc, clock, minutes
        self.open: list[str] = []  # open counters, in the order they opened
        self.serving: dict[str, tuple[str, datetime]] = {}  # counter -> (ticket id, called)
        self.told: dict[str, Told] = {}
        self.recent: deque[float] = deque(maxlen=30)
        self.dropped = 0
        self.last = datetime(2000, 1, 1, tzinfo=BERLIN)  # the latest moment the store saw

    async def run(self, d: DerivedDay, published: Callable[[datetime], int | None]) -> list[Told]:
        events = self.events(d)
        for e in events:
            self.clock.now = e.at
            await self.idle_counters()
            if e.kind == "counters":
                await self.set_counters(int(e.value))
            elif e.kind == "arrival":
                await self.arrive(d, bool(e.value), published)
            else:
                await self.call()
        # The day ends: whoever is still served is done, the counters close.
        self.clock.now = events[-1].at + timedelta(minutes=1) if events else self.clock.now
        await self.set_counters(0)
        return [t for t in self.told.values() if t.wait_s is not None]

    def events(self, d: DerivedDay) -> list[_Event]:
        out: list[_Event] = []
        seq = 0

        def add(at: datetime, order: int, kind: str, value: Any = None) -> None:
            nonlocal seq
            seq += 1
            out.append(_Event(at, order, seq, kind, value))

        before = d.opening - timedelta(seconds=1)
        if d.intervals:
            add(before, 0, "counters", d.intervals[0].counters)
        for i in range(d.initial_waiting):  # already there at the first row: not scored
            add(before - timedelta(seconds=d.initial_waiting - i), 1, "arrival", False)
        for iv in d.intervals:
            add(iv.start, 0, "counters", iv.counters)
        for at in d.arrivals:
            add(at, 1, "arrival", True)
        for at in d.calls:
            add(at, 2, "call")
        return sorted(out)

    async def idle_counters(self) -> None:
        """A counter that has called nobody for a long while was idle: its ticket ended."""
        limit = timedelta(minutes=self.minutes * IDLE_AFTER_SERVICES)
        now = self.clock.now
        for counter, (ticket, called) in list(self.serving.items()):
            if now - called > limit:
                # (never before what the store has seen already: its clock only advances)
                self.clock.now = max(called + limit, self.last)
                await self.finish(counter, ticket)
        self.clock.now = self.last = now

    async def finish(self, counter: str, ticket: str) -> None:
        await self.store.act(ticket, Action.COMPLETE, counters=None)
        del self.serving[counter]

    async def set_counters(self, wanted: int) -> None:
        wanted = min(wanted, MAX_COUNTERS)
        while len(self.open) > wanted:
            # The one free longest closes (or, if all serve, the one serving longest).
            counter = next((c for c in self.open if c not in self.serving), self.open[0])
            if counter in self.serving:
                await self.finish(counter, self.serving[counter][0])
            await self.store.set_counter(LOCATION, counter, False)
            self.open.remove(counter)
        free = [str(i) for i in range(1, MAX_COUNTERS + 1) if str(i) not in self.open]
        while len(self.open) < wanted:
            counter = free.pop(0)
            await self.store.set_counter(LOCATION, counter, True)
            self.open.append(counter)

    async def arrive(
        self, d: DerivedDay, scored: bool, published: Callable[[datetime], int | None]
    ) -> None:
        store, loc, now = self.store, self.loc, self.clock.now
        outcome = await store.issue(LOCATION, QUEUE, "replay")
        outcome = await commands.note_estimate(store, loc, outcome, now)
        assert outcome.ticket
        assert outcome.location
        assert outcome.position
        view = snapshot.ticket(
            store.office,
            loc,
            outcome.ticket,
            outcome.position,
            outcome.location,
            now,
            outcome.forecast,
        )
        if not scored:
            return
        shown = published(now)
        ahead = outcome.position - 1
        wait_range = view.get("estimated_wait_range_s")
        self.told[outcome.ticket.id] = Told(
            day=d.day,
            issued=now,
            ahead=ahead,
            estimates={
                "waitboard": view.get("estimated_wait_s"),
                "fixed rule": fixed_rule_s(
                    outcome.position,
                    loc.queue_by_id[QUEUE].service_minutes * 60,
                    snapshot.open_counters(loc, outcome.location, QUEUE),
                ),
                "last 30": statistics.fmean(self.recent) if self.recent else None,
                "published": None if shown is None else shown * 60.0,
                HINDSIGHT: fixed_rule_s(
                    outcome.position,
                    loc.queue_by_id[QUEUE].service_minutes * 60,
                    hour_counters(d, now),
                ),
            },
            range_s=(float(wait_range[0]), float(wait_range[1])) if wait_range else None,
        )

    async def call(self) -> None:
        """The counter free longest calls (or, all serving, the one serving longest ends
        its ticket and calls: the record says a call happened, not by whom)."""
        if not self.open:
            await self.set_counters(1)
        free = [c for c in self.open if c not in self.serving]
        if free:
            counter = free[0]
        else:
            counter = min(self.serving, key=lambda c: self.serving[c][1])
            await self.finish(counter, self.serving[counter][0])
        outcome = await self.store.call_next(LOCATION, counter)
        ticket = outcome.ticket
        if ticket is None:
            self.dropped += 1
            return
        await self.store.act(ticket.id, Action.START, counters=None)  # (they come at once)
        # Free counters go to the back: the next call is by the one free longest.
        self.open.remove(counter)
        self.open.append(counter)
        self.serving[counter] = (ticket.id, self.clock.now)
        wait_s = ((ticket.called_at or 0) - ticket.issued_at) / 1000
        self.recent.append(wait_s)
        if ticket.id in self.told:
            self.told[ticket.id].wait_s = wait_s


def hour_counters(d: DerivedDay, at: datetime) -> int:
    """The counters the calls of the hour around ``at`` give (hindsight)."""
    for iv in d.intervals:
        if iv.start < at <= iv.end:
            return iv.counters if iv.hour_counters is None else iv.hour_counters
    return 0


def published_at(d: DerivedDay) -> Callable[[datetime], int | None]:
    """What the city's display showed at a moment: the row at or before it."""
    rows = [(iv.end, iv.published_min) for iv in d.intervals]

    def shown(at: datetime) -> int | None:
        value = None
        for end, minutes in rows:
            if end > at:
                break
            value = minutes
        if value is None and rows:
            value = rows[0][1]
        return value

    return shown


# --- scores ---------------------------------------------------------------------------------


@dataclass
class Scores:
    tickets: int
    mean_wait_s: float
    mae: dict[str, float]
    p90: dict[str, float]
    bias: dict[str, float]
    in_range: float
    median_range_width_s: float

    def row(self) -> dict[str, Any]:
        return {
            "tickets": self.tickets,
            "mean_wait_min": round(self.mean_wait_s / 60, 2),
            "mae_min": {m: round(v / 60, 2) for m, v in self.mae.items()},
            "mae_over_mean_wait": {
                m: round(v / self.mean_wait_s, 3) if self.mean_wait_s else None
                for m, v in self.mae.items()
            },
            "p90_abs_error_min": {m: round(v / 60, 2) for m, v in self.p90.items()},
            "bias_min": {m: round(v / 60, 2) for m, v in self.bias.items()},
            "in_range": round(self.in_range, 3),
            "median_range_width_min": round(self.median_range_width_s / 60, 1),
        }


def comparable(told: Iterable[Told]) -> list[Told]:
    """The tickets every method gave a number for (and that were called)."""
    return [
        t
        for t in told
        if t.wait_s is not None and all(t.estimates.get(m) is not None for m in METHODS)
    ]


def score(told: list[Told]) -> Scores | None:
    if not told:
        return None
    waits = [t.wait_s for t in told if t.wait_s is not None]
    mae, p90, bias = {}, {}, {}
    for m in (*METHODS, HINDSIGHT):
        errors = [
            (t.estimates.get(m) or 0.0) - (t.wait_s or 0.0)
            for t in told
            if m in METHODS or t.estimates.get(m) is not None
        ]
        if not errors:
            continue
        absolute = sorted(abs(e) for e in errors)
        mae[m] = statistics.fmean(absolute)
        p90[m] = absolute[math.ceil(0.9 * len(absolute)) - 1]
        bias[m] = statistics.fmean(errors)
    ranged = [t for t in told if t.range_s is not None]
    inside = sum(1 for t in ranged if t.range_s and t.range_s[0] <= (t.wait_s or 0) <= t.range_s[1])
    widths = [t.range_s[1] - t.range_s[0] for t in ranged if t.range_s]
    return Scores(
        tickets=len(told),
        mean_wait_s=statistics.fmean(waits),
        mae=mae,
        p90=p90,
        bias=bias,
        in_range=inside / len(ranged) if ranged else 0.0,
        median_range_width_s=statistics.median(widths) if widths else 0.0,
    )


def groups(told: list[Told]) -> dict[str, dict[str, list[Told]]]:
    by_month: dict[str, list[Told]] = {}
    by_hour: dict[str, list[Told]] = {}
    by_wait: dict[str, list[Told]] = {}
    for t in told:
        by_month.setdefault(t.day.strftime("%Y-%m"), []).append(t)
        by_hour.setdefault(f"{t.issued.hour:02d}", []).append(t)
        w = (t.wait_s or 0) / 60
        band = "< 15 min" if w < 15 else "15-30 min" if w < 30 else ">= 30 min"
        by_wait.setdefault(band, []).append(t)
    return {
        "all": {"all": told},
        "jam": {f">= {JAM_AHEAD} ahead": [t for t in told if t.ahead >= JAM_AHEAD]},
        "month": dict(sorted(by_month.items())),
        "hour": dict(sorted(by_hour.items())),
        "actual wait": {
            k: by_wait[k] for k in ("< 15 min", "15-30 min", ">= 30 min") if k in by_wait
        },
    }


# --- the run ---------------------------------------------------------------------------------


@dataclass
class Run:
    days: list[DerivedDay]
    told: list[Told]
    minutes: float
    dropped: int
    seconds: float
    per_day: list[dict[str, Any]]


@dataclass
class Part:
    """What one stretch of days gave: its tickets, per-day figures, calls finding nobody."""

    told: list[Told]
    per_day: list[dict[str, Any]]
    dropped: int


#: The replay's Redis keeps nothing on disk (these come after the embedded server's own
#: settings, and the last of a setting wins).
NO_PERSISTENCE = ("--appendonly", "no")


async def replay_days(
    days: list[DerivedDay], minutes: float, warm_up: list[DerivedDay] | None = None
) -> Part:
    """Days in a row through one store on a fresh Redis: learning carries from day to day.
    ``warm_up``: days replayed first and not scored, for the learning they leave."""
    conf = office(minutes)
    loc = conf.locations[0]
    part = Part([], [], 0)
    with tempfile.TemporaryDirectory() as tmp:
        # No append-only file: a replay has nothing to recover after a crash, and waiting
        # for the disk on every write made its time the disk's rather than the scripts'.
        server = EmbeddedRedis(Path(tmp), extra_args=NO_PERSISTENCE)
        server.start()
        redis = connect(server.url)
        try:
            clock = Clock()
            store = Store(redis, conf, clock)
            for d in warm_up or []:
                await DayReplay(store, loc, clock, minutes).run(d, published_at(d))
            for d in days:
                day = DayReplay(store, loc, clock, minutes)
                got = await day.run(d, published_at(d))
                part.dropped += day.dropped
                part.told += got
                s = score(comparable(got))
                part.per_day.append(
                    {
                        "day": d.day.isoformat(),
                        "tickets": len(got),
                        "waiting_fit_mae": round(d.waiting_fit_mae, 2),
                        "dropped_calls": day.dropped,
                        "scores": s.row() if s else None,
                    }
                )
        finally:
            await redis.aclose()
            server.stop()
    return part


def _replay_in_process(days: list[DerivedDay], minutes: float, warm_up: list[DerivedDay]) -> Part:
    return asyncio.run(replay_days(days, minutes, warm_up))


def prepare(
    paths: list[Path], seed: int, counters: str = "roster"
) -> tuple[list[DerivedDay], float]:
    """The derived days (with their counters) and the fixed rule's minutes."""
    derived = [d for d in (derive(read_day(p), seed=seed) for p in paths) if d.intervals]
    if counters == "roster":
        derived = rostered(derived)
    first = derived[0].day if derived else date.today()
    minutes = configured_minutes(d for d in derived if d.day < first + timedelta(days=31))
    return derived, minutes


#: A stretch after the first replays the weeks before it first, unscored: an office
#: keeps its history, and without them a stretch's first three weeks (of each weekday)
#: would go without the usual hours a real office would have learned by then.
WARM_UP = timedelta(weeks=4)


def stretches_of(days: list[DerivedDay], jobs: int) -> list[list[DerivedDay]]:
    """Days in a row, cut so that each process replays about the same number of arrivals
    (the replay's work), a later stretch's warm-up included: a busy winter and a quiet
    summer take about as long."""
    total = sum(len(d.arrivals) for d in days) or 1
    span_days = (days[-1].day - days[0].day).days + 1 if days else 1
    warm = total * min(1.0, WARM_UP.days / span_days)  # a warm-up's arrivals, about
    share = (total + (jobs - 1) * warm) / jobs
    out: list[list[DerivedDay]] = [[]]
    done, limit = 0, share
    for d in days:
        if done >= limit and len(out) < jobs:
            out.append([])
            limit += share - warm
        out[-1].append(d)
        done += len(d.arrivals)
    return [s for s in out if s]


def warm_up_for(stretch: list[DerivedDay], days: list[DerivedDay]) -> list[DerivedDay]:
    """The days of ``WARM_UP`` before a stretch's first (none for the first stretch)."""
    first = stretch[0].day
    return [d for d in days if first - WARM_UP <= d.day < first]


async def replay(paths: list[Path], seed: int, counters: str = "roster", jobs: int = 1) -> Run:
    """``counters``: "roster" (planned from past weeks) or "hour" (from the hour's own
    calls, as ``muenster.derive`` gives them). ``jobs`` > 1: the days in that many
    stretches in a row, each in a process with a Redis of its own; a stretch after the
    first replays the ``WARM_UP`` weeks before it first, unscored, for their learning."""
    started = time.perf_counter()
    derived, minutes = prepare(paths, seed, counters)
    if jobs <= 1 or len(derived) < 2 * jobs:
        parts = [await replay_days(derived, minutes)]
    else:
        stretches = stretches_of(derived, jobs)
        loop = asyncio.get_running_loop()
        with ProcessPoolExecutor(len(stretches)) as pool:
            parts = await asyncio.gather(
                *(
                    loop.run_in_executor(
                        pool, _replay_in_process, s, minutes, warm_up_for(s, derived)
                    )
                    for s in stretches
                )
            )
    return Run(
        derived,
        [t for p in parts for t in p.told],
        minutes,
        sum(p.dropped for p in parts),
        time.perf_counter() - started,
        [row for p in parts for row in p.per_day],
    )


def summary_line(run: Run) -> str:
    s = score(comparable(run.told))
    if s is None:
        return f"replay: {len(run.days)} days, 0 tickets"
    m = {k: v / 60 for k, v in s.mae.items()}
    return (
        f"replay: {len(run.days)} days, {s.tickets} tickets; MAE waitboard "
        f"{m['waitboard']:.1f} min, fixed {m['fixed rule']:.1f} min, last-30 "
        f"{m['last 30']:.1f} min, published {m['published']:.1f} min; mean wait "
        f"{s.mean_wait_s / 60:.1f} min; in range {round(100 * s.in_range)} %"
    )


#: A range this wide says "we do not know well" ("10-30 Min.").
WIDE_RANGE_S = 20 * 60


def doubt(told: list[Told]) -> dict[str, Any]:
    """How often waitboard said it did not know: no number ("unbekannt"), or a range at
    least ``WIDE_RANGE_S`` wide; and how the wide ranges held."""
    called = [t for t in told if t.wait_s is not None]
    unknown = [t for t in called if t.estimates.get("waitboard") is None]
    wide = [
        t for t in called if t.range_s is not None and t.range_s[1] - t.range_s[0] >= WIDE_RANGE_S
    ]
    held = sum(1 for t in wide if t.range_s and t.range_s[0] <= (t.wait_s or 0) <= t.range_s[1])
    return {
        "called": len(called),
        "unknown": len(unknown),
        "wide": len(wide),
        "wide_in_range": round(held / len(wide), 3) if wide else None,
        "compared": len(comparable(called)),
    }


def report(run: Run) -> dict[str, Any]:
    told = comparable(run.told)
    return {
        "days": len(run.days),
        "configured_minutes": round(run.minutes, 2),
        "dropped_calls": run.dropped,
        "seconds": round(run.seconds, 1),
        "waiting_fit_mae_median": round(statistics.median(d.waiting_fit_mae for d in run.days), 2)
        if run.days
        else None,
        "groups": {
            name: {key: s.row() for key, part in parts.items() if (s := score(part))}
            for name, parts in groups(told).items()
        },
        "doubt": doubt(run.told),
        "per_day": run.per_day,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    ap.add_argument("--data", type=Path, required=True, help="a folder of daily CSVs")
    ap.add_argument("--from", dest="first", type=date.fromisoformat, default=None)
    ap.add_argument("--to", dest="last", type=date.fromisoformat, default=None)
    ap.add_argument("--json", type=Path, default=None, help="write every figure here")
    ap.add_argument("--out", type=Path, default=None, help="write estimates.md's part here")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--counters",
        choices=["roster", "hour"],
        default="roster",
        help="counters at work: planned from past weeks, or from the hour's own calls",
    )
    ap.add_argument(
        "--jobs",
        type=int,
        default=2,
        help="stretches of days replayed side by side, one process and Redis each",
    )
    args = ap.parse_args()
    paths = sorted(
        p
        for p in args.data.glob("*.csv")
        if (args.first is None or date.fromisoformat(p.stem) >= args.first)
        and (args.last is None or date.fromisoformat(p.stem) <= args.last)
    )
    run = asyncio.run(replay(paths, args.seed, args.counters, args.jobs))
    figures = report(run)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1, ensure_ascii=False), encoding="utf-8")
    if args.out:
        from benchmarks.replay_report import write_docs

        write_docs(run, figures, args.out)
    print(summary_line(run))


if __name__ == "__main__":
    main()
