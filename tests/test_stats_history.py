"""Statistics outlive the event stream: a past day's figures come from what the scripts keep
per day, not from the (capped) events; a day without data is all zeros."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from redis.asyncio import Redis

from tests.helpers import TIMEOUT, auth, live_server
from tests.openapi_check import check
from tests.test_stats import STATS, busy_morning
from tests.test_store import SettableClock
from waitboard.core.daystats import FIELDS
from waitboard.core.office import Office
from waitboard.store import keys
from waitboard.store.embedded import EmbeddedRedis

ADMIN = auth("reception-sued")


async def stats(http: httpx.AsyncClient, day: str) -> dict:
    return check(
        await http.get(f"/api/v1/locations/sued/stats?date={day}", headers=ADMIN), "GET", STATS
    )


async def test_a_past_day_keeps_its_figures_without_the_event_stream(
    redis_server: EmbeddedRedis, redis: Redis, office: Office
) -> None:
    """Yesterday's figures (JSON and CSV) are the same after the day rolled over and the
    events stream was trimmed to nothing."""
    clock = SettableClock(datetime(2026, 11, 24, 8, 0, tzinfo=UTC))  # 09:00 in Berlin
    async with (
        live_server(redis_server.url, office, clock=clock) as srv,
        httpx.AsyncClient(base_url=srv.url, timeout=TIMEOUT) as http,
    ):
        clock.now += timedelta(minutes=1)
        await busy_morning(http)  # 3 issued (A, A, B), one called, served
        before = await stats(http, "2026-11-24")
        csv_before = (
            await http.get("/api/v1/locations/sued/stats?date=2026-11-24&format=csv", headers=ADMIN)
        ).text
        assert before["totals"]["issued"] == 3 and before["totals"]["served"] == 1

        clock.now += timedelta(days=1)  # the next morning: a ticket rolls the day over
        r = await http.post(
            "/api/v1/locations/sued/tickets", json={"queue": "A"}, headers=auth("terminal-sued")
        )
        assert r.status_code == 201 and r.json()["number"] == "A001"
        await redis.xtrim(keys.events("sued"), maxlen=0)
        assert await redis.xlen(keys.events("sued")) == 0

        assert await stats(http, "2026-11-24") == before
        assert (
            await http.get("/api/v1/locations/sued/stats?date=2026-11-24&format=csv", headers=ADMIN)
        ).text == csv_before
        today = await stats(http, "2026-11-25")
        assert today["totals"]["issued"] == 1 and today["totals"]["served"] == 0


async def test_a_day_without_data_answers_zeros(http: httpx.AsyncClient) -> None:
    """A day nothing happened (long ago, or never): 200 with zero counts, no means, no
    hours - not an error."""
    await busy_morning(http)  # today has data; the other days do not
    for day in ("2020-01-01", "2099-12-31"):
        empty = await stats(http, day)
        assert empty["date"] == day and empty["arrivals_per_hour"] == []
        for row in (*empty["queues"], empty["totals"]):
            assert {f: row[f] for f in FIELDS} == dict.fromkeys(FIELDS, 0)
            assert (
                row["wait_mean_s"],
                row["wait_p90_s"],
                row["service_mean_s"],
                row["no_show_rate"],
            ) == (None, None, None, None)
        assert [q["id"] for q in empty["queues"]] == ["A", "B"]
