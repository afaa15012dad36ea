"""Ranges are shown: after a history of services the estimate comes with a calibrated range,
in the API and on the public pages, worded as people say it ("10–20 Min.")."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
from redis.asyncio import Redis

from tests.helpers import TIMEOUT, auth, get_when, live_server, queue_of
from tests.test_store import SettableClock
from waitboard.core.office import Office
from waitboard.i18n import Translator
from waitboard.store import keys
from waitboard.store.embedded import EmbeddedRedis
from waitboard.store.scripts import BAND_MIN_PAIRS

HTML = {"Accept": "text/html"}
COUNTER = auth("counter-sued-1")


async def serve_one(
    http: httpx.AsyncClient, clock: SettableClock, waited: timedelta, service: timedelta
) -> None:
    """A ticket issued, called after ``waited``, served for ``service``."""
    r = await http.post(
        "/api/v1/locations/sued/tickets", json={"queue": "A"}, headers=auth("terminal-sued")
    )
    assert r.status_code == 201
    clock.now += waited
    called = await http.post("/api/v1/locations/sued/counters/1/call-next", headers=COUNTER)
    assert called.status_code == 200
    await http.post(f"/api/v1/tickets/{called.json()['id']}/start", headers=COUNTER)
    clock.now += service
    done = await http.post(f"/api/v1/tickets/{called.json()['id']}/complete", headers=COUNTER)
    assert done.status_code == 200


async def test_a_waiting_ticket_shows_its_range(
    redis_server: EmbeddedRedis, redis: Redis, office: Office
) -> None:
    """After 25 services (a calibrated band), a waiting ticket's JSON has a range around
    its estimate, and the ticket page and the location page show it as "lo–hi Min."."""
    clock = SettableClock(datetime(2026, 11, 25, 7, 0, tzinfo=UTC))  # 08:00 in Berlin
    t = Translator("de")
    async with (
        live_server(redis_server.url, office, clock=clock) as srv,
        httpx.AsyncClient(base_url=srv.url, timeout=TIMEOUT) as http,
    ):
        assert (
            await http.post("/api/v1/locations/sued/counters/1/open", headers=COUNTER)
        ).status_code == 200
        for i in range(BAND_MIN_PAIRS + 5):
            await serve_one(http, clock, timedelta(minutes=i % 4), timedelta(minutes=4 + i % 5))
        assert await redis.hexists(keys.learned("sued"), "ratio_lo")  # calibrated

        await serve_one(http, clock, timedelta(0), timedelta(0))  # and one more in service:
        await http.post(
            "/api/v1/locations/sued/tickets", json={"queue": "A"}, headers=auth("terminal-sued")
        )
        busy = await http.post("/api/v1/locations/sued/counters/1/call-next", headers=COUNTER)
        await http.post(f"/api/v1/tickets/{busy.json()['id']}/start", headers=COUNTER)
        waiting = [
            (
                await http.post(
                    "/api/v1/locations/sued/tickets",
                    json={"queue": "A"},
                    headers=auth("terminal-sued"),
                )
            ).json()
            for _ in range(6)
        ]

        ticket = (await http.get(f"/api/v1/tickets/{waiting[-1]['id']}")).json()
        assert ticket["position"] == 6
        low, high = ticket["estimated_wait_range_s"]
        assert 0 <= low <= ticket["estimated_wait_s"] <= high and high >= 60
        shown = t.wait_range([low, high])
        assert re.fullmatch(r"\d+–\d+\u00a0Min\.", shown), shown
        page = await http.get(ticket["url"], headers=HTML)
        assert page.status_code == 200 and shown in page.text

        snap = (
            await get_when(
                http,
                "/api/v1/locations/sued",
                lambda r: queue_of(r.json(), "A")["waiting"] == 6,
                "six waiting in the live view",
            )
        ).json()
        queue_range = queue_of(snap, "A")["estimated_wait_range_s"]
        assert queue_range is not None and queue_range[0] <= queue_range[1]
        newcomer = t.wait_range(queue_range)
        assert re.fullmatch(r"\d+–\d+\u00a0Min\.", newcomer), newcomer
        await get_when(
            http,
            "/locations/sued",
            lambda r: newcomer in r.text,
            f"the location page to show {newcomer}",
        )
