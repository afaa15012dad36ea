"""Occupancy: people counters report, screens show it; bad reports change nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from sensors.occupancy import Count, ReportRefused, run
from tests.helpers import (
    TIMEOUT,
    LiveServer,
    SettableClock,
    auth,
    dataset,
    get_when,
    live_server,
    receive_until,
    token,
)
from tests.openapi_check import check
from waitboard.core.office import Office
from waitboard.store.embedded import EmbeddedRedis

PATH = "/api/v1/locations/{location}/occupancy"


def zone(snapshot: dict[str, Any]) -> dict[str, Any]:
    return next(z for z in snapshot["occupancy"] if z["zone"] == "wartebereich")


async def test_a_count_reaches_the_screens(server: LiveServer, http: httpx.AsyncClient) -> None:
    """The sensor reports 12 people: the snapshot and the lobby's WebSocket show it."""
    async with server.ws("/ws/locations/sued") as ws:
        first = await receive_until(ws, lambda m: m["type"] == "snapshot", "snapshot")
        assert zone(first)["count"] is None  # nothing reported yet
        r = await http.post(
            "/api/v1/locations/sued/occupancy",
            json={"zone": "wartebereich", "count": 12},
            headers=auth("sensor-sued"),
        )
        assert check(r, "POST", PATH) == {"zone": "wartebereich", "count": 12}
        update = await receive_until(
            ws, lambda m: m["type"] == "snapshot" and zone(m)["count"] == 12, "count 12"
        )
        assert zone(update)["capacity"] == 40 and zone(update)["name"] == "Wartebereich"
    page = await get_when(
        http,
        "/locations/sued",
        lambda r: "Wartebereich: 12 Personen" in r.text,
        "the count on the public page",
    )
    assert "von 40 Plätzen" in page.text


@pytest.mark.parametrize(
    ("device", "body", "status", "says"),
    [
        ("sensor-sued", {"zone": "wartebereich", "count": -1}, 422, "'count'"),
        ("sensor-sued", {"zone": "flur", "count": 3}, 422, "Zone 'flur' does not exist"),
        ("sensor-sued", {"zone": "wartebereich", "count": "12"}, 422, "valid integer"),
        ("sensor-sued", {"zone": "wartebereich"}, 422, "'count': required"),
        ("terminal-sued", {"zone": "wartebereich", "count": 3}, 403, "role terminal"),
        (None, {"zone": "wartebereich", "count": 3}, 401, "Authorization: Bearer"),
        ("wrong", {"zone": "wartebereich", "count": 3}, 401, "not known"),
    ],
)
async def test_bad_reports_are_refused_and_change_nothing(
    http: httpx.AsyncClient,
    redis: Redis,
    device: str | None,
    body: dict[str, Any],
    status: int,
    says: str,
) -> None:
    """Negative counts, unknown zones, wrong types, wrong tokens: problem+json, no change."""
    await http.post(
        "/api/v1/locations/sued/occupancy",
        json={"zone": "wartebereich", "count": 5},
        headers=auth("sensor-sued"),
    )
    before = await dataset(redis)
    headers = (
        {"Authorization": "Bearer nope"} if device == "wrong" else auth(device) if device else {}
    )
    r = await http.post("/api/v1/locations/sued/occupancy", json=body, headers=headers)
    assert r.status_code == status
    problem = check(r, "POST", PATH)
    assert says in problem["detail"], problem["detail"]
    assert await dataset(redis) == before


async def test_a_sensor_of_another_location_is_refused(http: httpx.AsyncClient) -> None:
    """A sensor reports only for its own location."""
    r = await http.post(
        "/api/v1/locations/nord/occupancy",
        json={"zone": "wartebereich", "count": 1},
        headers=auth("sensor-sued"),
    )
    assert r.status_code == 403


async def test_an_old_count_is_not_shown(
    redis_server: EmbeddedRedis, redis: Redis, office: Office
) -> None:
    """A sensor silent for over ten minutes: the count is unknown, not a stale number."""

    clock = SettableClock(datetime.now(UTC))
    async with (
        live_server(redis_server.url, office, clock=clock) as srv,
        httpx.AsyncClient(base_url=srv.url, timeout=TIMEOUT) as http,
    ):
        await http.post(
            "/api/v1/locations/sued/occupancy",
            json={"zone": "wartebereich", "count": 7},
            headers=auth("sensor-sued"),
        )
        await get_when(
            http, "/api/v1/locations/sued", lambda r: zone(r.json())["count"] == 7, "count 7"
        )
        clock.now += timedelta(minutes=11)
        await get_when(
            http,
            "/api/v1/locations/sued",
            lambda r: zone(r.json())["count"] is None,
            "the count to expire",
        )


def test_counting_movements_never_goes_below_zero() -> None:
    """+1/-1 and absolute counts; nonsense ignored; never below zero."""
    count = Count()
    for line in ("+1", "+1", "-1", "-1", "-1", "7", "+2", "banana", "-3", "", "+1x"):
        count.apply(line)
    assert count.value == 6


async def lines(*items: str) -> AsyncIterator[str]:
    for item in items:
        yield item


async def test_the_agent_reports_the_latest_count(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    """The agent counts movements and reports the result; the location shows it."""
    async with httpx.AsyncClient(
        base_url=server.url,
        timeout=TIMEOUT,
        headers={"Authorization": f"Bearer {token('sensor-sued')}"},
    ) as device:
        last = await run(
            device,
            "sued",
            "wartebereich",
            lines("3", "+1", "+1", "-1"),
            min_interval_s=0,
            stop_when_read=True,
        )
    assert last == 4
    await get_when(
        http, "/api/v1/locations/sued", lambda r: zone(r.json())["count"] == 4, "count 4"
    )


async def test_the_agent_stops_on_a_setup_mistake(server: LiveServer) -> None:
    """An unknown zone is a setup mistake: the agent says so instead of retrying."""
    async with httpx.AsyncClient(
        base_url=server.url,
        timeout=TIMEOUT,
        headers={"Authorization": f"Bearer {token('sensor-sued')}"},
    ) as device:
        with pytest.raises(ReportRefused, match="Zone 'flur' does not exist"):
            await run(device, "sued", "flur", lines("3"), min_interval_s=0, stop_when_read=True)
