"""``waitboard-sensor simulate``: a realistic office day, driven through the real API.

The simulated people take tickets and the simulated advisors open their counters, call,
serve, mark no-shows and close - all through the HTTP API, with a device token allowed to
do so (admin), at an adjustable speed (``--speed 60`` = one hour per minute). It records
the ground truth of every ticket (issued, the estimate it was given, called, how it ended)
and prints a report. ``--demo`` keeps every location of an office busy, day after day.

The office stays shared: staff may act by hand beside the simulation, and the server may be
away for a while. The simulator goes on from whatever it finds (see :mod:`sensors.engine`)
and never stops a location's day for an answer the API can give.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import random
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import httpx

from sensors.api import read_token
from sensors.engine import CounterView, DayResult, Json, TicketTruth, report, run_day
from sensors.office_day import HOUR, Scenario, plan_day, scenario_for
from waitboard import logs
from waitboard.config import Location, load_office
from waitboard.settings import DEMO_CONFIG

log = logging.getLogger(__name__)


class SimulationError(Exception):
    """The server refused something the simulation needs (a wrong token, say)."""


@dataclass(frozen=True)
class Patience:
    """How long the simulator keeps sending a command the server cannot answer now (real
    seconds): pauses start at ``first_s`` and double up to ``longest_s`` (or what the
    server's Retry-After asks); a command unanswered for ``give_up_s`` is left, and the
    day goes on without it."""

    first_s: float = 1.0
    longest_s: float = 30.0
    give_up_s: float = 120.0


#: Refusals that are part of an office day (the person goes home), not worth a log line.
_ORDINARY = frozenset({"ticket_stop", "queue_closed"})
#: What a counter's ticket may be while it keeps the counter busy.
_AT_COUNTER = frozenset({"called", "serving"})


class HttpOffice:
    """The office behind the real API, shared with its staff.

    Every command carries an Idempotency-Key and is sent again under it while the server
    is unreachable, unavailable (5xx) or asks to wait (429 and its Retry-After), so a
    command never happens twice. An answer that says someone else acted first (409), that
    a ticket is gone (404) or that the office has changed (422) comes back as the state
    the engine goes on from. Each problem is one log line, without ticket ids or tokens.
    """

    def __init__(self, http: httpx.AsyncClient, location: str, patience: Patience = Patience()):
        self.http = http
        self.loc = location
        self.patience = patience

    async def open(self, counter: str) -> CounterView | None:
        path = f"/api/v1/locations/{self.loc}/counters/{counter}/open"
        return _counter_view(await self._post("open", path, counter=counter))

    async def close(self, counter: str) -> CounterView | None:
        path = f"/api/v1/locations/{self.loc}/counters/{counter}/close"
        r = await self._post("close", path, counter=counter)
        if r is not None and _code(r) == "counter_busy":
            return await self.open(counter)  # (see call_next)
        return _counter_view(r)

    async def issue(self, queue: str) -> Json | None:
        r = await self._post("issue", f"/api/v1/locations/{self.loc}/tickets", {"queue": queue})
        ticket = _body(r) if r is not None and r.status_code in (200, 201) else None
        return ticket if ticket and "id" in ticket and "number" in ticket else None

    async def call_next(self, counter: str) -> CounterView | None:
        path = f"/api/v1/locations/{self.loc}/counters/{counter}/call-next"
        r = await self._post("call-next", path, counter=counter)
        if r is None:
            return None
        if r.status_code == 204:
            return CounterView(open=True)
        if r.status_code == 200:
            ticket = _body(r)
            return CounterView(open=True, ticket=ticket) if ticket and "id" in ticket else None
        code = _code(r)
        if code == "counter_closed":
            return CounterView(open=False)
        if code == "counter_busy":
            # Staff called someone here by hand. Opening an open counter changes nothing
            # and answers the counter with its ticket: the API's one read of a counter.
            return await self.open(counter)
        return None

    async def start(self, ticket_id: str, counter: str) -> bool:
        return await self._ticket("start", ticket_id, counter)

    async def complete(self, ticket_id: str, counter: str) -> bool:
        return await self._ticket("complete", ticket_id, counter)

    async def no_show(self, ticket_id: str, counter: str) -> bool:
        return await self._ticket("no-show", ticket_id, counter)

    async def _ticket(self, action: str, ticket_id: str, counter: str) -> bool:
        r = await self._post(action, f"/api/v1/tickets/{ticket_id}/{action}", counter=counter)
        return r is not None and r.status_code == 200

    async def _post(
        self, action: str, path: str, body: Json | None = None, counter: str | None = None
    ) -> httpx.Response | None:
        """The server's answer to one command; None when it gave none within patience.
        401/403 raise :class:`SimulationError`: no pause mends a wrong token."""
        where = {"location": self.loc, "action": action, "counter": counter or "-"}
        key = uuid.uuid4().hex
        deadline = time.monotonic() + self.patience.give_up_s
        pause = self.patience.first_s
        told = False
        while True:
            try:
                r = await self.http.post(path, json=body, headers={"Idempotency-Key": key})
            except httpx.HTTPError as e:  # refused, reset, timed out: it may come back
                why, wait = type(e).__name__, pause
            else:
                status = r.status_code
                if status in (401, 403):
                    raise SimulationError(f"{action}: HTTP {status} {_code(r)}: {_detail(r)}")
                if status != 429 and status < 500:
                    if status >= 400 and _code(r) not in _ORDINARY:
                        log.info(
                            "simulator: refused (someone else acted first, or the office "
                            "changed); going on from the state it has",
                            extra={**where, "status": status, "code": _code(r)},
                        )
                    return r
                why = f"HTTP {status}"
                asked = _retry_after(r)
                wait = asked if status == 429 and asked else max(pause, asked)
            if time.monotonic() + wait > deadline:
                log.warning("simulator: no answer; left", extra={**where, "reason": why})
                return None
            if not told:
                log.warning(
                    "simulator: no answer; sending again",
                    extra={**where, "reason": why, "again_in_s": round(wait, 1)},
                )
                told = True
            await asyncio.sleep(wait)
            pause = min(pause * 2, self.patience.longest_s)


def _body(r: httpx.Response) -> Json | None:
    try:
        data = r.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _code(r: httpx.Response) -> str:
    body = _body(r) if r.status_code >= 400 else None
    return str(body.get("code", "")) if body else ""


def _detail(r: httpx.Response) -> str:
    body = _body(r)
    return str(body.get("detail", ""))[:200] if body else ""


def _retry_after(r: httpx.Response) -> float:
    """Seconds from a Retry-After header (seconds or an HTTP date); 0 when absent."""
    value = r.headers.get("retry-after", "").strip()
    if value.isdecimal():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return 0.0
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _counter_view(r: httpx.Response | None) -> CounterView | None:
    body = _body(r) if r is not None and r.status_code == 200 else None
    if body is None or "open" not in body:
        return None
    ticket = body.get("ticket")
    busy = isinstance(ticket, dict) and ticket.get("status") in _AT_COUNTER
    return CounterView(open=bool(body["open"]), ticket=ticket if busy else None)


class RealTimeline:
    """Simulated seconds run ``speed`` times faster than the wall clock."""

    def __init__(self, speed: float) -> None:
        self.speed = speed
        self.started = time.monotonic()

    def now(self) -> float:
        return (time.monotonic() - self.started) * self.speed

    async def until(self, t: float) -> None:
        delay = (t - self.now()) / self.speed
        if delay > 0:
            await asyncio.sleep(delay)


def scenario_of(
    loc: Location,
    seed: int,
    arrivals_per_hour: float,
    hours: float,
    backlog: int,
    work_on_h: float = 1.5,
) -> Scenario:
    # Simulated people walk in; appointment queues fill by check-in, not by a button.
    walk_in = [q.id for q in loc.walk_in_queues]
    return scenario_for(
        [(q.id, q.service_minutes) for q in loc.walk_in_queues],
        [(c.id, [q for q in c.queues if q in walk_in]) for c in loc.counters],
        seed,
        arrivals_per_hour,
        hours,
        backlog,
        work_on_h,
    )


async def simulate_day(
    server: str,
    token: str,
    loc: Location,
    scenario: Scenario,
    seed: int,
    speed: float,
    patience: Patience = Patience(),
) -> DayResult:
    """One day of one location through the API; returns the ground truth."""
    async with httpx.AsyncClient(
        base_url=server, timeout=30, headers={"Authorization": f"Bearer {token}"}
    ) as http:
        office = HttpOffice(http, loc.id, patience)
        return await run_day(scenario, plan_day(scenario, seed), office, RealTimeline(speed))


def truth_rows(truths: list[TicketTruth]) -> list[dict[str, Any]]:
    return [
        {
            "number": t.number,
            "queue": t.queue,
            "issued_at": t.issued_at,
            "estimate_s": t.estimate_s,
            "range_s": t.range_s,
            "called_at": t.called_at,
            "counter": t.counter,
            "outcome": t.outcome,
        }
        for t in truths
    ]


async def wait_until_ready(server: str, timeout_s: float | None = 60.0) -> None:
    """The server answers /readyz (it may still be starting when we are, or its Redis be
    away); ``timeout_s`` None waits as long as it takes."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    async with httpx.AsyncClient(base_url=server, timeout=5) as http:
        while deadline is None or time.monotonic() < deadline:
            try:
                if (await http.get("/readyz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.5)
    raise SimulationError(f"{server} did not become ready within {timeout_s:.0f} s")


#: After a demo day stopped by an error (a refused token, a bug), the next one starts after
#: this pause, doubled while it keeps happening up to ``DEMO_PAUSE_MAX_S`` (real seconds).
DEMO_PAUSE_S = 10.0
DEMO_PAUSE_MAX_S = 300.0


async def run_demo(
    server: str,
    token: str,
    config: Path,
    seed: int,
    speed: float = 1.0,
    patience: Patience = Patience(),
) -> None:
    """Every location of the office, one simulated day after another (in real time at
    ``speed`` 1), until stopped: nothing the server answers ends it."""
    office = load_office(config)
    await wait_until_ready(server, timeout_s=None)

    async def location(loc: Location, index: int) -> None:
        day = 0
        pause = DEMO_PAUSE_S
        while True:
            scenario = scenario_of(
                loc, seed + 97 * index + day, arrivals_per_hour=25, hours=4.5, backlog=4 + 2 * index
            )
            try:
                await simulate_day(server, token, loc, scenario, seed + day, speed, patience)
                pause = DEMO_PAUSE_S
            except Exception as e:  # whatever it was, this location's demo goes on
                log.error(
                    "simulator: demo day stopped; the next one starts after a pause",
                    extra={
                        "location": loc.id,
                        "error": type(e).__name__,
                        # (Only our own message: others may carry a ticket's address.)
                        "detail": str(e) if isinstance(e, SimulationError) else "",
                        "again_in_s": pause,
                    },
                )
                await asyncio.sleep(pause)
                pause = min(2 * pause, DEMO_PAUSE_MAX_S)
            day += 1

    async def people_counter(loc: Location, index: int) -> None:
        """The demo's door counter: everyone waiting or being served, and some company."""
        rng = random.Random(seed + index)
        async with httpx.AsyncClient(
            base_url=server, timeout=10, headers={"Authorization": f"Bearer {token}"}
        ) as http:
            while True:
                await asyncio.sleep(30)
                try:
                    snap = (await http.get(f"/api/v1/locations/{loc.id}")).json()
                    people = sum(q["waiting"] + q["serving"] for q in snap["queues"])
                    for zone in loc.zones:
                        await http.post(
                            f"/api/v1/locations/{loc.id}/occupancy",
                            json={
                                "zone": zone.id,
                                "count": people + rng.randint(0, people // 3 + 1),
                            },
                        )
                except Exception as e:  # (a count missed is no loss: the next one comes)
                    log.debug(
                        "simulator: people count skipped",
                        extra={"location": loc.id, "error": type(e).__name__},
                    )

    await asyncio.gather(
        *(location(loc, i) for i, loc in enumerate(office.locations)),
        *(people_counter(loc, i) for i, loc in enumerate(office.locations)),
    )


@click.command("simulate")
@click.option("--server", default="http://127.0.0.1:8000", show_default=True)
@click.option(
    "--config",
    "config",
    type=click.Path(path_type=Path, exists=True),
    help="The office configuration (queues, counters, service_minutes).",
)
@click.option("--location", help="The location to simulate (default: the first).")
@click.option("--token-file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option(
    "--speed",
    type=click.FloatRange(0.1, 10_000),
    help="Simulated seconds per real second (default 60 = one hour per minute; with "
    "--demo 1 = real time).",
)
@click.option("--seed", default=1, show_default=True, type=int)
@click.option(
    "--hours",
    default=4.5,
    show_default=True,
    type=click.FloatRange(0.1, 12),
    help="How long people arrive (the counters work on for 1.5 h more).",
)
@click.option(
    "--arrivals-per-hour", default=25.0, show_default=True, type=click.FloatRange(0.1, 1000)
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write every ticket's ground truth as JSON here.",
)
@click.option(
    "--demo",
    is_flag=True,
    help="Keep every location of the office busy, in "
    "real time, until stopped (what `waitboard serve --demo` starts).",
)
def command(
    server: str,
    config: Path | None,
    location: str | None,
    token_file: Path | None,
    speed: float | None,
    seed: int,
    hours: float,
    arrivals_per_hour: float,
    report_path: Path | None,
    demo: bool,
) -> None:
    """Drive a realistic office day through the real API and report what happened."""
    logs.configure()
    token = read_token(token_file)
    config = config or (DEMO_CONFIG if demo else None)
    if config is None:
        raise click.UsageError("give --config (the office's waitboard.toml)")
    if demo:
        asyncio.run(run_demo(server, token, config, seed, speed or 1.0))
        return
    speed = speed or 60.0
    office = load_office(config)
    loc = office.location_by_id.get(location or office.locations[0].id)
    if loc is None:
        raise click.UsageError(f"no location {location!r} in {config}")
    scenario = scenario_of(loc, seed, arrivals_per_hour, hours, backlog=0)
    click.echo(
        f"simulating {hours:g} h of {loc.id} at {speed:g}x "
        f"(about {(hours + 1.5) * HOUR / speed / 60:.1f} min)"
    )
    try:
        day = asyncio.run(simulate_day(server, token, loc, scenario, seed, speed))
    except SimulationError as e:
        raise click.ClickException(str(e)) from None
    summary = report(day)
    for queue, figures in summary.items():
        click.echo(f"  queue {queue}: " + ", ".join(f"{k} {v}" for k, v in figures.items()))
    if report_path:
        report_path.write_text(
            json.dumps(
                {
                    "location": loc.id,
                    "speed": speed,
                    "seed": seed,
                    "tickets": truth_rows(day.tickets),
                    "summary": summary,
                },
                indent=1,
            ),
            encoding="utf-8",
        )
