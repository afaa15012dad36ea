"""The office-day simulator through a live server, and the statistics it leaves behind."""

from __future__ import annotations

import statistics
from datetime import datetime

import httpx
import pytest
from redis.asyncio import Redis

from sensors.engine import report
from sensors.office_day import SCENARIOS, plan_day
from sensors.simulate import scenario_of, simulate_day
from tests.conftest import TIMEOUT, LiveServer, auth, token
from waitboard.config import Office


def seconds_between(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


async def test_simulated_day_matches_the_statistics_endpoint(
    server: LiveServer, office: Office, redis: Redis
) -> None:
    """A short seeded simulation through the real API: its ground truth and the stats
    endpoint agree on counts, and on mean waits within the rounding of timestamps."""
    loc = office.location_by_id["sued"]
    scenario = scenario_of(loc, seed=3, arrivals_per_hour=40, hours=0.4, backlog=4, work_on_h=0.3)
    day = await simulate_day(server.url, token("admin"), loc, scenario, seed=3, speed=300)
    truth, truths = report(day), day.tickets
    assert sum(q["issued"] for q in truth.values()) >= 10
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as http:
        r = await http.get("/api/v1/locations/sued/stats", headers=auth("admin"))
    assert r.status_code == 200
    stats = {q["id"]: q for q in r.json()["queues"]}
    for queue, figures in truth.items():
        for field in ("issued", "called", "served", "no_show"):
            assert stats[queue][field] == figures[field], (queue, field)
        waits = [
            seconds_between(t.issued_at, t.called_at)
            for t in truths
            if t.queue == queue and t.called_at
        ]
        if waits:  # the server's times are exact; the ground truth's are whole seconds
            assert stats[queue]["wait_mean_s"] == pytest.approx(statistics.fmean(waits), abs=1.0)
    print({q: (f["issued"], f["mean_wait_s"]) for q, f in truth.items()})


async def test_a_ticket_from_someone_else_is_served_too(server: LiveServer, office: Office) -> None:
    """The demo runs beside real use: a ticket issued at reception during the simulated
    day is called and served by a simulated advisor, and the day's figures leave it out."""
    loc = office.location_by_id["sued"]
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as http:
        r = await http.post(
            "/api/v1/locations/sued/tickets", json={"queue": "A"}, headers=auth("reception-sued")
        )
        assert r.status_code == 201
        theirs = r.json()["id"]
        scenario = scenario_of(loc, seed=5, arrivals_per_hour=30, hours=0.2, backlog=2)
        day = await simulate_day(server.url, token("admin"), loc, scenario, seed=5, speed=300)
        ticket = (await http.get(f"/api/v1/tickets/{theirs}")).json()
    assert ticket["status"] in ("done", "no_show")
    assert theirs not in {t.id for t in day.tickets}


def test_scenarios_are_seeded_and_realistic() -> None:
    """Same seed, same day; a morning rush brings more people in the first hour."""
    rush = SCENARIOS["morning_rush"]
    assert plan_day(rush, 7) == plan_day(rush, 7)
    assert plan_day(rush, 7) != plan_day(rush, 8)
    arrivals = plan_day(rush, 7).arrivals
    first_hour = sum(1 for t, _ in arrivals if t < 3600)
    last_hour = sum(1 for t, _ in arrivals if 3 * 3600 <= t < 4 * 3600)
    assert first_hour > 1.3 * last_hour
    queues = {q for _, q in arrivals}
    assert queues == {"A", "B"}


async def test_estimate_benchmark_smoke(redis: Redis) -> None:
    """One simulated day per scenario through the benchmark: every method estimates, and
    waitboard is far from absurd (the real figures are in docs/estimates.md)."""
    from benchmarks.estimates import score, simulate

    for name, scenario in SCENARIOS.items():
        days = await simulate(redis, scenario, days=1, seed=11)
        scores = score(days)
        assert scores.tickets > 50, name
        # A loose floor so that a 5x regression fails; not a timing or quality target.
        assert scores.mae["waitboard"] < 3 * scores.mae["oracle"], name
        assert scores.coverage > 0.4, name


def test_a_configured_day_has_a_break(office: Office) -> None:
    """The simulator's advisors take a break: one counter closes and opens again."""
    scenario = scenario_of(
        office.location_by_id["sued"], seed=1, arrivals_per_hour=20, hours=4, backlog=0
    )
    events = plan_day(scenario, 1).counter_events
    last = scenario.counters[-1].id
    assert [is_open for _, c, is_open in events if c == last] == [True, False, True, False]
