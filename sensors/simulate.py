"""``waitboard-sensor simulate``: a realistic office day, driven through the real API.

The simulated people take tickets and the simulated advisors open their counters, call,
serve, mark no-shows and close - all through the HTTP API, with a device token allowed to
do so (admin), at an adjustable speed (``--speed 60`` = one hour per minute). It records
the ground truth of every ticket (issued, the estimate it was given, called, how it ended)
and prints a report. ``--demo`` keeps every location of an office busy, day after day.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from pathlib import Path
from typing import Any

import click
import httpx

from sensors.api import read_token
from sensors.engine import DayResult, Json, TicketTruth, report, run_day
from sensors.office_day import HOUR, Scenario, plan_day, scenario_for
from waitboard.config import Location, load_office
from waitboard.settings import DEMO_CONFIG


class SimulationError(Exception):
    """The server refused something the simulation needs (a wrong token, say)."""


class HttpOffice:
    """The office behind the real API."""

    def __init__(self, http: httpx.AsyncClient, location: str) -> None:
        self.http = http
        self.loc = location

    async def _post(self, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        r = await self.http.post(path, json=body)
        if r.status_code >= 400 and r.status_code != 409:
            raise SimulationError(f"POST {path} -> {r.status_code}: {r.text[:200]}")
        return r

    async def open(self, counter: str) -> None:
        await self._post(f"/api/v1/locations/{self.loc}/counters/{counter}/open")

    async def close(self, counter: str) -> None:
        await self._post(f"/api/v1/locations/{self.loc}/counters/{counter}/close")

    async def issue(self, queue: str) -> Json | None:
        r = await self._post(f"/api/v1/locations/{self.loc}/tickets", {"queue": queue})
        if r.status_code == 409:
            return None  # ticket stop: this person goes home
        answer: Json = r.json()
        return answer

    async def call_next(self, counter: str) -> Json | None:
        r = await self._post(f"/api/v1/locations/{self.loc}/counters/{counter}/call-next")
        if r.status_code == 204:
            return None
        answer: Json = r.json()
        return answer

    async def start(self, ticket_id: str, counter: str) -> None:
        await self._post(f"/api/v1/tickets/{ticket_id}/start")

    async def complete(self, ticket_id: str, counter: str) -> None:
        await self._post(f"/api/v1/tickets/{ticket_id}/complete")

    async def no_show(self, ticket_id: str, counter: str) -> None:
        await self._post(f"/api/v1/tickets/{ticket_id}/no-show")


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
    server: str, token: str, loc: Location, scenario: Scenario, seed: int, speed: float
) -> DayResult:
    """One day of one location through the API; returns the ground truth."""
    async with httpx.AsyncClient(
        base_url=server, timeout=30, headers={"Authorization": f"Bearer {token}"}
    ) as http:
        office = HttpOffice(http, loc.id)
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


async def wait_until_ready(server: str, timeout_s: float = 60.0) -> None:
    """The server answers /readyz (it may still be starting when we are)."""
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(base_url=server, timeout=5) as http:
        while time.monotonic() < deadline:
            try:
                if (await http.get("/readyz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.5)
    raise SimulationError(f"{server} did not become ready within {timeout_s:.0f} s")


async def run_demo(server: str, token: str, config: Path, seed: int) -> None:
    """Every location of the office, one simulated day after another, in real time."""
    office = load_office(config)
    await wait_until_ready(server)

    async def location(loc: Location, index: int) -> None:
        day = 0
        while True:
            scenario = scenario_of(
                loc, seed + 97 * index + day, arrivals_per_hour=25, hours=4.5, backlog=4 + 2 * index
            )
            try:
                await simulate_day(server, token, loc, scenario, seed + day, speed=1.0)
            except Exception as e:  # whatever it was (a server away, say), the demo goes on
                click.echo(
                    f"demo simulation of {loc.id}: {type(e).__name__}: {e}; again in 10 s",
                    err=True,
                )
                await asyncio.sleep(10)
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
                except (httpx.HTTPError, ValueError, KeyError):
                    continue

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
    default=60.0,
    show_default=True,
    type=click.FloatRange(0.1, 10_000),
    help="Simulated seconds per real second (60 = one hour per minute).",
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
    speed: float,
    seed: int,
    hours: float,
    arrivals_per_hour: float,
    report_path: Path | None,
    demo: bool,
) -> None:
    """Drive a realistic office day through the real API and report what happened."""
    token = read_token(token_file)
    config = config or (DEMO_CONFIG if demo else None)
    if config is None:
        raise click.UsageError("give --config (the office's waitboard.toml)")
    if demo:
        asyncio.run(run_demo(server, token, config, seed))
        return
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
