"""The lobby screen shows the waiting area's people count once a sensor has reported it,
and stops showing it when the sensor goes quiet."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
from redis.asyncio import Redis

from tests.helpers import TIMEOUT, auth, get_when, live_server
from tests.test_store import SettableClock
from waitboard.core.office import Office
from waitboard.store.embedded import EmbeddedRedis

ZONE = re.compile(
    r'<span data-zone="wartebereich"(?P<hidden>\s+hidden)?\s*>\s*'
    r'<span data-f="occupancy-text">(?P<text>[^<]*)</span>'
)


def zone_on(html: str) -> tuple[bool, str]:
    """(shown, text) of the waiting area's count on a page."""
    found = ZONE.search(html)
    assert found, "no occupancy line for the waiting area on the page"
    return found.group("hidden") is None, " ".join(found.group("text").split())


async def test_the_lobby_screen_shows_the_reported_count(
    redis_server: EmbeddedRedis, redis: Redis, office: Office
) -> None:
    """No report: the line is hidden. 12 reported: /screens/sued shows "Wartebereich: 12
    Personen (von 40 Plätzen)" (and in English). Ten minutes without a report: hidden."""
    clock = SettableClock(datetime(2026, 11, 25, 9, 0, tzinfo=UTC))
    async with (
        live_server(redis_server.url, office, clock=clock) as srv,
        httpx.AsyncClient(base_url=srv.url, timeout=TIMEOUT) as http,
    ):
        shown, _ = zone_on((await http.get("/screens/sued")).text)
        assert not shown
        r = await http.post(
            "/api/v1/locations/sued/occupancy",
            json={"zone": "wartebereich", "count": 12},
            headers=auth("sensor-sued"),
        )
        assert r.status_code == 200
        page = await get_when(
            http, "/screens/sued", lambda r: zone_on(r.text)[0], "the count on the lobby screen"
        )
        assert zone_on(page.text) == (True, "Wartebereich: 12 Personen (von 40 Plätzen)")
        english = await http.get("/screens/sued?lang=en")
        assert zone_on(english.text) == (True, "Waiting area: 12 people (of 40 seats)")

        clock.now += timedelta(minutes=11)  # the sensor went quiet
        await get_when(
            http,
            "/screens/sued",
            lambda r: not zone_on(r.text)[0],
            "a stale count to disappear from the lobby screen",
        )
