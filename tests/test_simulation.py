"""The office-day simulator through a live server, and the statistics it leaves behind; the
office shared with staff acting by hand, a service day ending at midnight and data wiped
under a running day, with the demo going on through all of them."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import statistics
import sys
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from redis.asyncio import Redis

from sensors.engine import DayResult, Json, TicketTruth, report, run_day
from sensors.http_office import HttpOffice
from sensors.office_day import SCENARIOS, plan_day
from sensors.simulate import run_demo, scenario_of, simulate_day
from tests.helpers import (
    OFFICE_PATH,
    TIMEOUT,
    LiveServer,
    SettableClock,
    auth,
    get_when,
    live_server,
    token,
)
from tests.test_api import issue
from waitboard.core.office import Office
from waitboard.logs import KeyValueFormatter
from waitboard.store import keys
from waitboard.store.embedded import EmbeddedRedis


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


# --- an office shared with its staff ----------------------------------------------------------


class SteppedTimeline:
    """Simulated time that moves only when the test says so: the engine plays every event
    up to the limit and then waits, so the test acts by hand at a moment it knows."""

    def __init__(self) -> None:
        self.t = 0.0
        self.limit = 0.0
        self.parked = asyncio.Event()
        self.moved = asyncio.Event()

    def now(self) -> float:
        return self.t

    async def until(self, t: float) -> None:
        while t > self.limit:
            self.parked.set()
            await self.moved.wait()
            self.moved.clear()
        self.t = max(self.t, t)

    async def advance(self, minutes: float, day: asyncio.Task[DayResult]) -> None:
        """Play on to ``minutes`` into the day; whatever escaped the simulator is raised."""
        self.limit = minutes * 60
        self.parked.clear()
        self.moved.set()
        parked = asyncio.ensure_future(self.parked.wait())
        done, _ = await asyncio.wait({parked, day}, timeout=TIMEOUT, return_when="FIRST_COMPLETED")
        parked.cancel()
        if day in done:
            day.result()
        elif not done:
            pytest.fail(f"the simulator did not reach minute {minutes} within {TIMEOUT:.0f} s")


async def current(http: httpx.AsyncClient, redis: Redis, location: str = "sued") -> Json:
    """The location's snapshot as Redis has it now (public reads follow within a moment)."""
    seq = int(await redis.hget(keys.meta(location), "seq") or 0)
    r = await get_when(
        http,
        f"/api/v1/locations/{location}",
        lambda r: r.status_code == 200 and r.json()["seq"] >= seq,
        "the snapshot to catch up",
    )
    snap: Json = r.json()
    return snap


def ticket_at(snap: Json, counter: Json) -> str | None:
    """The id of the ticket called to (or served at) a counter, from the recent calls."""
    return next(
        (
            call["ticket_id"]
            for call in snap["calls"]
            if call["counter"] == counter["id"] and call["number"] == counter["number"]
        ),
        None,
    )


def calls_after(truths: list[TicketTruth], t: float) -> int:
    return sum(1 for x in truths if x.called_t is not None and x.called_t > t)


async def test_the_simulator_goes_on_when_staff_act_by_hand(
    server: LiveServer, office: Office, redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    """Staff call someone to a simulated counter, mark a no-show, transfer, complete and
    close, cancel a waiting ticket and call at a busy counter, all by hand while the
    simulation runs: nothing escapes the simulator, it serves on what it finds (the ticket
    called by hand, a counter closed by hand opened again) and keeps issuing and calling,
    and it logs each refusal in one line without ticket ids or tokens."""
    caplog.set_level(logging.INFO, logger="sensors")
    loc = office.location_by_id["sued"]
    scenario = dataclasses.replace(
        scenario_of(loc, seed=7, arrivals_per_hour=12, hours=2, backlog=0, work_on_h=0.5),
        no_show_rate=0.3,  # called tickets that wait for their no-show, to act on by hand
    )
    timeline = SteppedTimeline()
    issued: list[TicketTruth] = []

    async def keep(truth: TicketTruth, answer: Json) -> None:
        issued.append(truth)

    async with (
        httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as http,
        httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT, headers=auth("admin")) as sim,
    ):
        day = asyncio.create_task(
            run_day(scenario, plan_day(scenario, 7), HttpOffice(sim, "sued"), timeline, keep)
        )
        done: dict[str, float] = {}  # what was done by hand, at which simulated minute
        hand_called: tuple[str, str] | None = None  # (ticket id, counter)
        closed: str | None = None
        try:
            minute = 0
            while len(done) < 6 and minute < 150:
                minute += 1
                await timeline.advance(minute, day)
                snap = await current(http, redis)
                for c in snap["counters"]:
                    device = auth(f"counter-sued-{c['id']}")
                    base = f"/api/v1/locations/sued/counters/{c['id']}"
                    ticket = ticket_at(snap, c)
                    ours = ticket in {t.id for t in issued}
                    if "call" not in done and c["open"] and c["number"] is None:
                        # Staff call someone to a simulated counter that stands idle.
                        assert (await issue(http, "A", device="reception-sued")).status_code == 201
                        r = await http.post(f"{base}/call-next", headers=device)
                        assert r.status_code == 200, r.text
                        hand_called, done["call"] = (r.json()["id"], c["id"]), minute
                    elif "busy" not in done and c["open"] and c["number"] is not None:
                        r = await http.post(f"{base}/call-next", headers=device)
                        assert r.status_code == 409 and r.json()["code"] == "counter_busy"
                        done["busy"] = minute
                    elif "no_show" not in done and ours and c["ticket_status"] == "called":
                        r = await http.post(f"/api/v1/tickets/{ticket}/no-show", headers=device)
                        assert r.status_code == 200, r.text
                        done["no_show"] = minute
                    elif "transfer" not in done and ours and c["ticket_status"] == "serving":
                        other = "B" if snap_queue_of(issued, ticket) == "A" else "A"
                        r = await http.post(
                            f"/api/v1/tickets/{ticket}/transfer",
                            json={"queue": other},
                            headers=device,
                        )
                        assert r.status_code == 200, r.text
                        done["transfer"] = minute
                    elif "close" not in done and ours and c["ticket_status"] == "serving":
                        r = await http.post(f"/api/v1/tickets/{ticket}/complete", headers=device)
                        assert r.status_code == 200, r.text
                        r = await http.post(f"{base}/close", headers=device)
                        assert r.status_code == 200 and r.json()["open"] is False, r.text
                        closed, done["close"] = c["id"], minute
                    else:
                        continue
                    snap = await current(http, redis)
                if "cancel" not in done:
                    waiting = [t for t in issued if t.called_t is None]
                    for t in waiting:
                        r = await http.post(
                            f"/api/v1/tickets/{t.id}/cancel", headers=auth("reception-sued")
                        )
                        if r.status_code == 200:
                            done["cancel"] = minute
                            break
            assert set(done) == {"call", "busy", "no_show", "transfer", "close", "cancel"}, done

            # The simulator goes on: new calls after the last thing done by hand, the
            # ticket called by hand served to its end, the counter closed by hand calling
            # again (opened after its advisor's break).
            last = max(done.values())
            await timeline.advance(last + 40, day)
            assert calls_after(issued, last * 60) >= 2
            assert hand_called is not None
            r = await http.get(f"/api/v1/tickets/{hand_called[0]}")
            assert r.json()["status"] in ("done", "no_show")
            assert any(
                t.counter == closed and (t.called_t or 0) > done["close"] * 60 for t in issued
            ), "the counter closed by hand calls again"
            await timeline.advance(24 * 60, day)  # to the day's end
            result = day.result()
        finally:
            day.cancel()
    assert sum(report(result)[q]["issued"] for q in ("A", "B")) == len(issued)
    lines = [KeyValueFormatter().format(r) for r in caplog.records]
    assert any("code=counter_busy" in line for line in lines), lines
    assert not [line for line in lines for t in issued if t.id in line or token("admin") in line]


def snap_queue_of(issued: list[TicketTruth], ticket_id: str | None) -> str:
    return next(t.queue for t in issued if t.id == ticket_id)


async def test_the_simulator_goes_on_when_the_service_day_ends_under_it(
    redis_server: EmbeddedRedis, redis: Redis, office: Office
) -> None:
    """At midnight the service day ends: open tickets are cancelled and counters closed
    while the simulation is mid-day. Its advisors find their counters closed, open them
    again after a short break and call the new day's numbers."""
    clock = SettableClock(datetime(2026, 12, 1, 22, 40, tzinfo=UTC))  # 23:40 in Berlin
    loc = office.location_by_id["sued"]
    scenario = scenario_of(loc, seed=4, arrivals_per_hour=20, hours=1.5, backlog=3)
    timeline = SteppedTimeline()
    issued: list[TicketTruth] = []

    async def keep(truth: TicketTruth, answer: Json) -> None:
        issued.append(truth)

    async with (
        live_server(redis_server.url, office, clock=clock) as srv,
        httpx.AsyncClient(base_url=srv.url, timeout=TIMEOUT) as http,
        httpx.AsyncClient(base_url=srv.url, timeout=TIMEOUT, headers=auth("admin")) as sim,
    ):
        day = asyncio.create_task(
            run_day(scenario, plan_day(scenario, 4), HttpOffice(sim, "sued"), timeline, keep)
        )
        try:
            await timeline.advance(15, day)
            before = await current(http, redis)
            assert any(c["number"] for c in before["counters"]), "counters at work"
            clock.now += timedelta(minutes=25)  # 00:05: a new service day
            await timeline.advance(32, day)  # (before the break of counter 2, at 36 min)
            after = await current(http, redis)
            assert after["day"] != before["day"]
            assert all(c["open"] for c in after["counters"])
            new_day = [t for t in issued if t.issued_t > 15 * 60]
            assert sum(t.called_t is not None for t in new_day) >= 2
            await timeline.advance(24 * 60, day)
            day.result()
        finally:
            day.cancel()


async def test_a_day_goes_on_when_its_data_is_wiped(
    server: LiveServer, office: Office, redis: Redis
) -> None:
    """The data under a running day is gone (a restore from an older backup, say): its
    tickets are unknown (404) and its counters closed. The day goes on - the counters open
    again and call new numbers - and ends as planned."""
    loc = office.location_by_id["sued"]
    scenario = scenario_of(loc, seed=2, arrivals_per_hour=30, hours=1, backlog=4, work_on_h=0.3)
    timeline = SteppedTimeline()
    issued: list[TicketTruth] = []

    async def keep(truth: TicketTruth, answer: Json) -> None:
        issued.append(truth)

    async with (
        httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as http,
        httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT, headers=auth("admin")) as sim,
    ):
        day = asyncio.create_task(
            run_day(scenario, plan_day(scenario, 2), HttpOffice(sim, "sued"), timeline, keep)
        )
        try:
            await timeline.advance(10, day)
            before = await current(http, redis)
            assert any(c["number"] for c in before["counters"]), "counters at work"
            await redis.flushall()
            await timeline.advance(30, day)
            after = await current(http, redis)
            assert after["epoch"] != before["epoch"] and after["calls"], "new calls since"
            assert sum(1 for t in issued if t.issued_t > 10 * 60 and t.called_t) >= 2
            await timeline.advance(24 * 60, day)
            day.result()
        finally:
            day.cancel()


async def test_the_demo_goes_on_when_its_data_is_wiped(
    server: LiveServer, redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    """`make run`'s simulator, sped up, on every location: when the data under it is gone
    (a restore from an older backup, say: its tickets unknown, its counters closed) each
    location's demo day goes on - the counters open again and call new numbers - without
    a day being stopped."""
    caplog.set_level(logging.INFO, logger="sensors")
    demo = asyncio.create_task(run_demo(server.url, token("admin"), OFFICE_PATH, seed=1, speed=600))
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as http:
            epochs = {}
            for location in ("sued", "nord"):
                r = await get_when(
                    http,
                    f"/api/v1/locations/{location}",
                    lambda r: bool(r.json()["calls"]),
                    f"the demo to call at {location}",
                )
                epochs[location] = r.json()["epoch"]
            await redis.flushall()
            for location in ("sued", "nord"):
                # (The wiped data's successor has an epoch of its own, and only its calls.)
                await get_when(
                    http,
                    f"/api/v1/locations/{location}",
                    lambda r, old=epochs[location]: (
                        r.status_code == 200
                        and r.json()["epoch"] != old
                        and bool(r.json()["calls"])
                    ),
                    f"new calls at {location} after the wipe",
                )
        assert not demo.done(), demo.result()
    finally:
        demo.cancel()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_ticket_transferred_by_hand_is_finished_where_it_is_served(
    server: LiveServer, office: Office, redis: Redis
) -> None:
    """Staff transfer a ticket away from a simulated counter while it is being served, and
    another simulated counter calls it: the first counter is free at once and leaves the
    ticket alone; the counter now serving it finishes it, in its own time."""
    loc = office.location_by_id["sued"]
    seed = 3  # (a day in which counter 2 calls the ticket before counter 1 would be done)
    scenario = scenario_of(loc, seed=seed, arrivals_per_hour=10, hours=2, backlog=0, work_on_h=0.5)
    timeline = SteppedTimeline()
    issued: list[TicketTruth] = []

    async def keep(truth: TicketTruth, answer: Json) -> None:
        issued.append(truth)

    async with (
        httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as http,
        httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT, headers=auth("admin")) as sim,
    ):
        day = asyncio.create_task(
            run_day(scenario, plan_day(scenario, seed), HttpOffice(sim, "sued"), timeline, keep)
        )
        try:
            moved: TicketTruth | None = None
            minute = 0
            while moved is None and minute < 100:
                minute += 1
                await timeline.advance(minute, day)
                counters = {c["id"]: c for c in (await current(http, redis))["counters"]}
                one, two = counters["1"], counters["2"]
                serving = [t for t in issued if t.number == one["number"]]
                if (
                    one["ticket_status"] == "serving"
                    and serving
                    and two["open"]
                    and not two["number"]
                ):
                    moved = serving[0]
                    r = await http.post(
                        f"/api/v1/tickets/{moved.id}/transfer",
                        json={"queue": "B"},
                        headers=auth("counter-sued-1"),
                    )
                    assert r.status_code == 200, r.text
            assert moved is not None, "a moment to transfer from counter 1 to an idle counter 2"
            while moved.counter != "2" and minute < 150:
                minute += 1
                await timeline.advance(minute, day)
            assert moved.counter == "2" and moved.called_t is not None
            ends = moved.called_t + (moved.busy_s or 0)  # when counter 2 is done with it
            while minute * 60 < ends - 60:
                minute += 1
                await timeline.advance(minute, day)
                r = await http.get(f"/api/v1/tickets/{moved.id}")
                assert r.json()["status"] in ("called", "serving"), (minute, ends / 60)
            await timeline.advance(24 * 60, day)
            day.result()
        finally:
            day.cancel()
        r = await http.get(f"/api/v1/tickets/{moved.id}")
        assert r.json()["status"] in ("done", "no_show")


async def test_the_simulate_command_logs_no_ticket_addresses(server: LiveServer) -> None:
    """`waitboard-sensor simulate` runs a day and logs neither a ticket's address (its id is
    the key to the ticket's page) nor its token."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sensors.cli",
        "simulate",
        "--server",
        server.url,
        "--config",
        str(OFFICE_PATH),
        "--speed",
        "5000",
        "--hours",
        "0.2",
        env={**os.environ, "WAITBOARD_DEVICE_TOKEN": token("admin")},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 3 * TIMEOUT)
    assert proc.returncode == 0, err.decode()
    assert "queue A: issued" in out.decode()
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as http:
        stats = (await http.get("/api/v1/locations/sued/stats", headers=auth("admin"))).json()
    assert sum(q["issued"] for q in stats["queues"]) > 0
    assert "/tickets/t_" not in err.decode() and token("admin") not in err.decode()
