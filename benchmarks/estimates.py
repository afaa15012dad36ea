"""How good are waitboard's wait estimates? Simulated office days, side by side.

Runs the office-day simulator in-process on a simulated clock (no wall-clock waiting)
through the real store and Lua scripts on a real Redis, and records for every ticket what
it was told at issue and how long it really waited. On the same tickets it records:

* ``waitboard``: the estimate the ticket was given (the production code path);
* ``oracle``: the same position/counter arithmetic, given the simulation's true current
  mean service times (and no-show rate) instead of learned ones;
* ``fixed rule``: people ahead x configured service_minutes / open counters;
* ``last 30``: the average wait of the last 30 tickets called in that queue.

The configured service_minutes are 30-50% off from the truth, and the truth drifts during
the day. Writes ``docs/estimates.md`` (tables) and ``docs/estimates.png`` (a day's plot).

    .venv/bin/python benchmarks/estimates.py [--days 20] [--out docs]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import random
import statistics
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from sensors.engine import CounterView, TicketTruth, run_day
from sensors.office_day import SCENARIOS, CounterModel, QueueModel, Scenario, plan_day
from waitboard.core import appointments, snapshot
from waitboard.core.clock import to_ms
from waitboard.core.domain import Action
from waitboard.core.estimate import fixed_rule_s
from waitboard.core.office import Location, Office, parse_office
from waitboard.core.state import AppointmentsToday
from waitboard.services import tickets as commands
from waitboard.store.embedded import EmbeddedRedis
from waitboard.store.office_store import Store
from waitboard.store.redis import connect

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # (run as a script: the benchmarks package next to it)
BERLIN = ZoneInfo("Europe/Berlin")
METHODS = ("waitboard", "oracle", "fixed rule", "last 30")


def office_for(scenario: Scenario) -> Office:
    """The configuration an office would have written: the wrong service_minutes."""
    minutes = scenario.configured_minutes()
    all_day = dict.fromkeys(("mon", "tue", "wed", "thu", "fri", "sat", "sun"), "00:00-24:00")
    return parse_office(
        {
            "timezone": "Europe/Berlin",
            "locations": [
                {
                    "id": "sim",
                    "name": "Simulation",
                    "hours": all_day,
                    "queues": [
                        {"id": q.id, "name": q.id, "service_minutes": minutes[q.id]}
                        for q in scenario.queues
                    ],
                    "counters": [
                        {"id": c.id, "name": f"Schalter {c.id}", "queues": list(c.queues)}
                        for c in scenario.counters
                    ],
                }
            ],
        },
        "benchmark",
    )


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class SimTimeline:
    clock: Clock
    day_start: datetime

    def now(self) -> float:
        return (self.clock.now - self.day_start).total_seconds()

    async def until(self, t: float) -> None:
        self.clock.now = self.day_start + timedelta(seconds=t)


class StoreOffice:
    """The office as the API would run it, minus HTTP: the store and the same commands."""

    def __init__(
        self,
        store: Store,
        loc: Location,
        scenario: Scenario,
        timeline: SimTimeline,
        history: dict[str, deque[float]],
    ) -> None:
        self.store, self.loc, self.scenario, self.timeline = store, loc, scenario, timeline
        self.history = history  # queue -> waits of recently called tickets (last 30)

    async def open(self, counter: str) -> CounterView:
        await self.store.set_counter(self.loc.id, counter, True)
        return CounterView(open=True)

    async def close(self, counter: str) -> CounterView:
        await self.store.set_counter(self.loc.id, counter, False)
        return CounterView(open=False)

    async def issue(self, queue: str) -> dict[str, Any]:
        store, loc = self.store, self.loc
        outcome = await store.issue(loc.id, queue, "simulator")
        now = store.clock()
        await commands.note_estimate(store, loc, outcome, now)
        assert outcome.ticket
        assert outcome.location
        assert outcome.position
        view = snapshot.ticket(
            store.office, loc, outcome.ticket, outcome.position, outcome.location, now
        )
        t = self.timeline.now()
        # The oracle: the same arithmetic with the true service times, uncorrected.
        oracle_s = snapshot.forecast(
            loc,
            outcome.location,
            now,
            store.office.tz,
            service_override=lambda c, q: self.scenario.mean_busy_s(q, c, t),
        ).raw(queue, outcome.position)
        recent = self.history[queue]
        view["baselines"] = {
            "oracle": oracle_s,
            "fixed rule": fixed_rule_s(
                outcome.position - 1,
                loc.queue_by_id[queue].service_minutes * 60,
                snapshot.open_counters(loc, outcome.location, queue),
            ),
            "last 30": statistics.fmean(recent) if recent else None,
        }
        return view

    async def call_next(self, counter: str) -> CounterView:
        outcome = await self.store.call_next(self.loc.id, counter)
        if outcome.ticket is None:
            return CounterView(open=True)
        t = outcome.ticket
        self.history[t.queue].append((t.called_at or 0) / 1000 - t.issued_at / 1000)
        return CounterView(open=True, ticket={"id": t.id, "status": "called", "called_at": ""})

    async def start(self, ticket_id: str, counter: str) -> bool:
        await self.store.act(ticket_id, Action.START, counters=None)
        return True

    async def complete(self, ticket_id: str, counter: str) -> bool:
        await self.store.act(ticket_id, Action.COMPLETE, counters=None)
        return True

    async def no_show(self, ticket_id: str, counter: str) -> bool:
        await self.store.act(ticket_id, Action.NO_SHOW, counters=None)
        return True


async def simulate(
    redis: Redis, scenario: Scenario, days: int, seed: int
) -> list[list[TicketTruth]]:
    """``days`` consecutive days (learning carries over) of one scenario, fresh Redis."""
    await redis.flushall()
    office = office_for(scenario)
    loc = office.locations[0]
    clock = Clock()
    store = Store(redis, office, clock)
    out = []
    for day in range(days):
        day_start = datetime(2026, 3, 2, 8, 0, tzinfo=BERLIN) + timedelta(days=day)
        clock.now = day_start
        timeline = SimTimeline(clock, day_start)
        history: dict[str, deque[float]] = {q.id: deque(maxlen=30) for q in scenario.queues}
        shop = StoreOffice(store, loc, scenario, timeline, history)

        async def keep(truth: TicketTruth, answer: dict[str, Any]) -> None:
            truth.extra.update(answer["baselines"])

        result = await run_day(
            scenario, plan_day(scenario, seed + day), shop, timeline, on_issue=keep
        )
        out.append(result.tickets)
    return out


@dataclass
class Scores:
    tickets: int
    mean_wait_s: float
    mae: dict[str, float]
    p90_abs: dict[str, float]
    coverage: float


def score(days: list[list[TicketTruth]]) -> Scores:
    """Errors of each method on the tickets every method gave a number for."""
    rows = []
    for truths in days:
        for t in truths:
            if t.wait_s is None or t.estimate_s is None:
                continue
            values = {"waitboard": t.estimate_s, **{m: t.extra.get(m) for m in METHODS[1:]}}
            if any(v is None for v in values.values()):
                continue
            rows.append((t, values))
    errors = {m: sorted(abs(v[m] - t.wait_s) for t, v in rows) for m in METHODS}  # type: ignore[operator]
    covered = sum(1 for t, _ in rows if t.range_s and t.range_s[0] <= t.wait_s <= t.range_s[1])  # type: ignore[operator]
    return Scores(
        tickets=len(rows),
        mean_wait_s=statistics.fmean(t.wait_s for t, _ in rows),  # type: ignore[misc]
        mae={m: statistics.fmean(e) for m, e in errors.items()},
        p90_abs={m: e[int(0.9 * (len(e) - 1))] for m, e in errors.items()},
        coverage=covered / len(rows),
    )


def plot(truths: list[TicketTruth], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    queues = sorted({t.queue for t in truths})
    fig, axes = plt.subplots(len(queues), 1, figsize=(10, 3.4 * len(queues)), dpi=110, sharex=True)
    for ax, queue in zip(axes, queues, strict=True):
        called = sorted(
            (
                t
                for t in truths
                if t.queue == queue
                and t.wait_s is not None
                and t.estimate_s is not None
                and t.range_s
            ),
            key=lambda t: t.issued_t,
        )
        hours = [8 + t.issued_t / 3600 for t in called]
        ax.fill_between(
            hours,
            [t.range_s[0] / 60 for t in called],  # type: ignore[index]
            [t.range_s[1] / 60 for t in called],  # type: ignore[index]
            color="#0b4f8a",
            alpha=0.15,
            step="mid",
            label="waitboard range",
        )
        ax.plot(
            hours,
            [t.wait_s / 60 for t in called],
            "o",
            ms=3.5,  # type: ignore[operator]
            color="#111111",
            label="actual wait",
        )
        ax.plot(
            hours,
            [t.estimate_s / 60 for t in called],
            "-",
            lw=1.4,  # type: ignore[operator]
            color="#0b4f8a",
            label="waitboard estimate",
        )
        ax.plot(
            hours,
            [(t.extra.get("fixed rule") or 0) / 60 for t in called],
            "--",
            lw=1,
            color="#a4161a",
            label="fixed rule",
        )
        ax.plot(
            hours,
            [(t.extra.get("last 30") or 0) / 60 for t in called],
            ":",
            lw=1.2,
            color="#7a5c00",
            label="last 30 average",
        )
        ax.set_ylabel(f"queue {queue}: wait (min)")
        ax.grid(alpha=0.3)
    axes[0].set_title(title)
    axes[0].legend(loc="upper left", fontsize=8)
    axes[-1].set_xlabel("time of issue (h)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def markdown(results: dict[str, Scores], days: int, seed: int, seconds: float) -> str:
    lines = [
        "# Wait estimates: how good they are",
        "",
        f"`benchmarks/estimates.py --days {days} --seed {seed}` simulated {days} office days in "
        f"each of {len(results)} scenarios ({seconds:.0f} s on the development machine; no "
        "wall-clock waiting), through the real store and Lua scripts on a real Redis.",
        "",
        "The location: queue A (reception zone, ~5 min) and B (benefits, ~13 min); counters "
        "1 (A), 2 (A, then B), 3 (B, then A), 4 (B). The configured `service_minutes` are "
        "40% too short for A and 45% too long for B; true service times grow 6-10% with "
        "every hour, differ per advisor, have a long tail (lognormal, sigma 0.6); 5% of the "
        "people called do not come. Learning carries over from day to day.",
        "",
        "Mean absolute error (MAE) in minutes, on every ticket all four methods estimated:",
        "",
        "| scenario | tickets | mean wait | waitboard | oracle | fixed rule | last 30 | "
        "waitboard / oracle | range covers |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, s in results.items():
        m = s.mae
        lines.append(
            f"| {name} | {s.tickets} | {s.mean_wait_s / 60:.1f} | {m['waitboard'] / 60:.2f} | "
            f"{m['oracle'] / 60:.2f} | {m['fixed rule'] / 60:.2f} | {m['last 30'] / 60:.2f} | "
            f"{m['waitboard'] / m['oracle']:.2f} | {s.coverage:.0%} |"
        )
    lines += [
        "",
        "MAE as a share of the mean actual wait, and the 90th percentile of the "
        "absolute error (minutes):",
        "",
        "| scenario | "
        + " | ".join(f"{m} MAE/wait" for m in METHODS)
        + " | "
        + " | ".join(f"{m} p90" for m in METHODS)
        + " |",
        "|---|" + "---|" * (2 * len(METHODS)),
    ]
    for name, s in results.items():
        lines.append(
            f"| {name} | "
            + " | ".join(f"{s.mae[m] / s.mean_wait_s:.0%}" for m in METHODS)
            + " | "
            + " | ".join(f"{s.p90_abs[m] / 60:.1f}" for m in METHODS)
            + " |"
        )
    fixed = statistics.fmean(s.mae["fixed rule"] for s in results.values())
    ours = statistics.fmean(s.mae["waitboard"] for s in results.values())
    lines += [
        "",
        f"Averaged over the scenarios, the fixed rule's MAE is {fixed / ours:.1f}x waitboard's.",
        "",
        "![estimate vs actual over a day](estimates.png)",
        "",
        "The plot shows the last morning-rush day, per queue: every dot a ticket (when it "
        "was issued, how long it waited); the line what waitboard told it, the band its "
        "range; the dashed and dotted lines what the fixed rule and the last-30 average "
        "would have said.",
        "",
    ]
    return "\n".join(lines)


# --- with appointments -----------------------------------------------------------------------

#: The steady day, plus appointment queue T (15-minute talks, 20-minute slots 08:00-12:00,
#: one place each) served first by counter 4 and last by counter 3.
APPOINTMENTS = Scenario(
    "appointments",
    (
        *SCENARIOS["steady"].queues,
        QueueModel("T", share=0.0, service_s=15 * 60, drift_per_hour=0.05),
    ),
    (
        CounterModel("1", ("A",), speed=0.9),
        CounterModel("2", ("A", "B"), speed=1.0),
        CounterModel("3", ("B", "A", "T"), speed=1.15),
        CounterModel("4", ("T", "B"), speed=1.05),
    ),
    SCENARIOS["steady"].arrivals_per_hour,
)
SLOTS = [8 * 3600 + i * 20 * 60 - 8 * 3600 for i in range(12)]  # seconds after 08:00
BOOKED_SHARE, NO_SHOW, LATE = 0.85, 0.08, 0.08
APPOINTMENT_METHODS = ("waitboard", "forecast", "ignoring bookings", "oracle")


def office_with_plan(scenario: Scenario) -> Office:
    office = office_for(scenario)
    raw = office.model_dump(mode="json")
    for q in raw["locations"][0]["queues"]:
        if q["id"] == "T":
            q["appointments"] = {
                "walk_in_queue": "B",
                "slot_minutes": 20,
                "capacity": 1,
                "days_ahead": 1,
                "min_notice_minutes": 0,
                "early_minutes": 30,
                "late_minutes": 10,
                "call_ahead_minutes": 2,
                "hours": dict.fromkeys(
                    ("mon", "tue", "wed", "thu", "fri", "sat", "sun"), "08:00-12:00"
                ),
            }
    return parse_office(raw, "benchmark")


class AppointmentOffice(StoreOffice):
    """The office with bookings: a "T" arrival checks in the booking planned for it; every
    walk-in also gets the estimate that ignores the counter time bookings reserve."""

    def __init__(self, *args: Any, codes: dict[float, str]) -> None:
        super().__init__(*args)
        self.codes = codes  # arrival time (s) -> booking code

    async def issue(self, queue: str) -> dict[str, Any]:
        store, loc = self.store, self.loc
        now = store.clock()
        if queue != "T":
            view = await super().issue(queue)
            _, position, state = await store.ticket(view["id"])
            blind = dataclasses.replace(
                state,
                appointments={
                    q: AppointmentsToday(waiting_slots=a.waiting_slots)
                    for q, a in state.appointments.items()
                },
            )
            # Forecasts before calibration, so that only the bookings make the difference.
            view["baselines"]["forecast"] = snapshot.forecast(loc, state, now, store.office.tz).raw(
                queue, position or 1
            )
            view["baselines"]["ignoring bookings"] = snapshot.forecast(
                loc, blind, now, store.office.tz
            ).raw(queue, position or 1)
            return view
        code = self.codes[round(self.timeline.now(), 3)]
        outcome = await store.check_in(
            loc.id,
            appointments.code_hash(code),
            "simulator",
            early_ms=30 * 60_000,
            late_ms=10 * 60_000,
            walk_in="B",
        )
        await commands.note_estimate(store, loc, outcome, now)
        assert outcome.ticket
        assert outcome.location
        view = snapshot.ticket(
            store.office, loc, outcome.ticket, outcome.position, outcome.location, now
        )
        view["baselines"] = {
            "slot_t": (outcome.ticket.slot_at or 0) / 1000 - self.timeline.day_start.timestamp(),
            "late": outcome.ticket.late,
        }
        return view


async def simulate_appointments(redis: Redis, days: int, seed: int) -> list[list[TicketTruth]]:
    """Days of the appointment scenario: bookings made before opening, their holders come
    early, some late, some not at all."""
    await redis.flushall()
    scenario = APPOINTMENTS
    office = office_with_plan(scenario)
    loc = office.locations[0]
    clock = Clock()
    store = Store(redis, office, clock)
    out = []
    for day in range(days):
        rng = random.Random(seed * 1000 + day)
        day_start = datetime(2026, 3, 2, 8, 0, tzinfo=BERLIN) + timedelta(days=day)
        clock.now = day_start - timedelta(hours=1)
        codes: dict[float, str] = {}
        extra: list[tuple[float, str]] = []
        for slot_t in SLOTS:
            if rng.random() > BOOKED_SHARE:
                continue
            code = appointments.new_code()
            slot = day_start + timedelta(seconds=slot_t)
            await store.book(
                loc.id,
                "T",
                to_ms(slot),
                slot.date().isoformat(),
                appointments.code_hash(code),
                to_ms(slot + timedelta(days=2)),
            )
            r = rng.random()
            if r < NO_SHOW:
                continue
            arrive = (
                slot_t + rng.uniform(12, 30) * 60
                if r < NO_SHOW + LATE
                else slot_t - rng.uniform(0, 25) * 60
            )
            arrive = round(max(0.0, arrive), 3)
            codes[arrive] = code
            extra.append((arrive, "T"))
        clock.now = day_start
        timeline = SimTimeline(clock, day_start)
        history: dict[str, deque[float]] = {q.id: deque(maxlen=30) for q in scenario.queues}
        shop = AppointmentOffice(store, loc, scenario, timeline, history, codes=codes)
        plan = plan_day(scenario, seed + day)
        plan = dataclasses.replace(plan, arrivals=tuple(sorted((*plan.arrivals, *extra))))

        async def keep(truth: TicketTruth, answer: dict[str, Any]) -> None:
            truth.extra.update(answer["baselines"])

        result = await run_day(scenario, plan, shop, timeline, on_issue=keep)
        out.append(result.tickets)
    return out


def appointments_markdown(days: list[list[TicketTruth]], n_days: int) -> str:
    """Walk-in estimates with and without the bookings' reserved time, and how near to
    their slot the people with an appointment were called."""
    rows = [
        t
        for d in days
        for t in d
        if t.queue != "T"
        and t.wait_s is not None
        and t.estimate_s is not None
        and all(t.extra.get(m) is not None for m in APPOINTMENT_METHODS[1:])
    ]
    errors = {
        m: sorted(abs((t.estimate_s if m == "waitboard" else t.extra[m]) - t.wait_s) for t in rows)
        for m in APPOINTMENT_METHODS
    }  # type: ignore[operator]
    mean_wait = statistics.fmean(t.wait_s for t in rows)  # type: ignore[misc]
    booked = [t for d in days for t in d if t.queue == "T" and t.called_t is not None]
    on_time = [t for t in booked if not t.extra.get("late")]
    late = [t for t in booked if t.extra.get("late")]
    offsets = sorted(
        (t.called_t - t.extra["slot_t"]) / 60 for t in on_time if t.called_t is not None
    )
    lines = [
        "## With appointments",
        "",
        f"`benchmarks/estimates.py --days {n_days}` also plays the steady day with appointment "
        "queue T: 20-minute slots from 08:00 to 12:00, one place each, "
        f"{BOOKED_SHARE:.0%} booked before opening; counter 4 serves T first, counter 3 "
        f"last. Holders check in 0-25 minutes early; {LATE:.0%} come 12-30 minutes late "
        f"(they wait in B as walk-ins), {NO_SHOW:.0%} not at all. "
        "'waitboard' is what the ticket was told (the forecast, calibrated); 'forecast' "
        "the forecast before calibration; 'ignoring bookings' the same forecast without "
        "the counter time that bookings not yet arrived will take; the oracle knows the "
        "true service times (and counts the bookings).",
        "",
        f"Walk-in tickets (A and B): {len(rows)}, mean wait {mean_wait / 60:.1f} min.",
        "",
        "| method | MAE (min) | MAE / mean wait | p90 error (min) | mean error (min) |",
        "|---|---|---|---|---|",
    ]
    for m in APPOINTMENT_METHODS:
        e = errors[m]
        p90 = e[int(0.9 * (len(e) - 1))]
        bias = statistics.fmean(
            (t.estimate_s if m == "waitboard" else t.extra[m]) - t.wait_s for t in rows
        )  # type: ignore[operator]
        lines.append(
            f"| {m} | {statistics.fmean(e) / 60:.2f} | "
            f"{statistics.fmean(e) / mean_wait:.0%} | {p90 / 60:.1f} | "
            f"{bias / 60:+.2f} |"
        )
    lines += [
        "",
        f"People with an appointment: {len(on_time)} on time, {len(late)} late. Those on "
        f"time were called {statistics.median(offsets):+.1f} min from their slot "
        f"(median; 10th-90th percentile {offsets[int(0.1 * (len(offsets) - 1))]:+.1f} to "
        f"{offsets[int(0.9 * (len(offsets) - 1))]:+.1f} min; negative: before the slot, "
        "when a counter had nobody else).",
        "",
    ]
    return "\n".join(lines)


async def main_async(days: int, seed: int, out: Path | None, scenarios: list[str]) -> int:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(dir="/tmp") as tmp, EmbeddedRedis(Path(tmp) / "r") as r:
        redis = connect(r.url)
        results: dict[str, Scores] = {}
        rush_day: list[TicketTruth] = []
        for name in (n for n in scenarios if n in SCENARIOS):
            sim = await simulate(redis, SCENARIOS[name], days, seed)
            results[name] = score(sim)
            if name == "morning_rush":
                rush_day = sim[-1]
            print(f"{name:<22} {results[name]}", file=sys.stderr)
        with_bookings = (
            appointments_markdown(await simulate_appointments(redis, days, seed), days)
            if "appointments" in scenarios
            else ""
        )
        print(with_bookings, file=sys.stderr)
        await redis.aclose()
    seconds = time.perf_counter() - started
    text = (markdown(results, days, seed, seconds) if results else "") + "\n" + with_bookings
    print(text)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        from benchmarks.replay_report import keep_real_days

        doc = out / "estimates.md"
        # (The part about real days is benchmarks/replay.py's: it stays as it was.)
        old = doc.read_text(encoding="utf-8") if doc.exists() else ""
        doc.write_text(keep_real_days(old, text), encoding="utf-8")
        if rush_day:
            plot(rush_day, out / "estimates.png", "morning rush: estimate vs actual wait")
    return 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    ap.add_argument("--days", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None, help="write estimates.md/.png here")
    ap.add_argument("--scenario", action="append", choices=[*sorted(SCENARIOS), "appointments"])
    args = ap.parse_args()
    sys.exit(
        asyncio.run(
            main_async(
                args.days, args.seed, args.out, args.scenario or [*SCENARIOS, "appointments"]
            )
        )
    )


if __name__ == "__main__":
    main()
