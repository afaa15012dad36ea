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
import json
import logging
import random
import time
from pathlib import Path
from typing import Any

import click
import httpx

from sensors.api import read_token
from sensors.engine import DayResult, TicketTruth, report, run_day
from sensors.http_office import PATIENCE, HttpOffice, Patience, SimulationError
from sensors.office_day import HOUR, Scenario, plan_day, scenario_for
from waitboard import logs
from waitboard.core.office import Location
from waitboard.settings import DEMO_CONFIG, load_office

log = logging.getLogger(__name__)


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
    patience: Patience = PATIENCE,
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
    patience: Patience = PATIENCE,
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
    # httpx logs every request with its address, and a ticket's address is its key.
    logging.getLogger("httpx").setLevel(logging.WARNING)
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
