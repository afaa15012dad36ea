"""Pausing a counter over HTTP: the documented answers, refusals as problem+json, retries."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
from redis.asyncio import Redis

from tests.helpers import TIMEOUT, LiveServer, SettableClock, auth, get_when, live_server
from tests.openapi_check import check
from tests.test_staff import HTML, actions_of, csrf_of, log_in
from waitboard.core.office import Office
from waitboard.store.embedded import EmbeddedRedis

COUNTER = "/api/v1/locations/{location}/counters/{counter}/"
BASE = "/api/v1/locations/sued/counters/1/"
HEADERS = auth("counter-sued-1")


async def pause(http: httpx.AsyncClient, body: object, **headers: str) -> httpx.Response:
    return await http.post(BASE + "pause", json=body, headers={**HEADERS, **headers})


async def test_pause_and_resume_as_documented(http: httpx.AsyncClient) -> None:
    """pause answers the counter as paused with its reason (not open), resume as open again;
    the public snapshot shows the counter paused and counts no open counter for it."""
    await http.post(BASE + "open", headers=HEADERS)
    body = check(await pause(http, {"reason": "break"}), "POST", COUNTER + "pause")
    assert (body["open"], body["state"], body["pause_reason"]) == (False, "paused", "break")
    assert body["paused_at"]

    def paused(r: httpx.Response) -> bool:
        return any(c["id"] == "1" and c["state"] == "paused" for c in r.json()["counters"])

    snap = (await get_when(http, "/api/v1/locations/sued", paused, "counter 1 paused")).json()
    c1 = next(c for c in snap["counters"] if c["id"] == "1")
    assert c1["pause_reason"] == "break" and c1["open"] is False
    assert next(q for q in snap["queues"] if q["id"] == "A")["open_counters"] == 0

    r = await http.post(BASE + "resume", headers=HEADERS)
    body = check(r, "POST", COUNTER + "resume")
    assert (body["open"], body["state"], body["pause_reason"]) == (True, "open", None)


async def test_refusals_are_problems_a_person_can_act_on(http: httpx.AsyncClient) -> None:
    """A reason outside the list is 422 naming the field; pausing a closed counter and
    calling at a paused one are 409 with what to do."""
    r = await pause(http, {"reason": "lunch"})
    problem = check(r, "POST", COUNTER + "pause")
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert "reason" in problem["detail"]
    r = await pause(http, {})
    assert r.status_code == 422

    r = await pause(http, {"reason": "break"})
    problem = check(r, "POST", COUNTER + "pause")
    assert r.status_code == 409 and problem["code"] == "counter_closed"

    await http.post(BASE + "open", headers=HEADERS)
    await pause(http, {"reason": "meeting"})
    r = await http.post(BASE + "call-next", headers=HEADERS)
    problem = check(r, "POST", COUNTER + "call-next")
    assert r.status_code == 409 and problem["code"] == "counter_paused"
    assert "resume" in problem["detail"]


async def test_a_busy_counter_cannot_pause(http: httpx.AsyncClient) -> None:
    """With a called ticket the counter stays open: 409 counter_busy, as for close."""
    await http.post(
        "/api/v1/locations/sued/tickets", json={"queue": "A"}, headers=auth("terminal-sued")
    )
    await http.post(BASE + "open", headers=HEADERS)
    await http.post(BASE + "call-next", headers=HEADERS)
    r = await pause(http, {"reason": "break"})
    assert r.status_code == 409
    assert check(r, "POST", COUNTER + "pause")["code"] == "counter_busy"


async def test_a_retried_pause_is_replayed(http: httpx.AsyncClient) -> None:
    """The same Idempotency-Key and body: the first answer again, marked replayed; another
    reason under that key is refused."""
    await http.post(BASE + "open", headers=HEADERS)
    first = await pause(http, {"reason": "paperwork"}, **{"Idempotency-Key": "p-1"})
    again = await pause(http, {"reason": "paperwork"}, **{"Idempotency-Key": "p-1"})
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    other = await pause(http, {"reason": "other"}, **{"Idempotency-Key": "p-1"})
    assert other.status_code == 422


async def test_the_counter_page_pauses_and_asks_for_a_reason(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    """The page's Pause form pauses with the chosen reason and then offers Weiter; a
    reason it does not know comes back as a message, and the counter stays as it was."""
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as desk:
        await log_in(desk, "counter-sued-1")
        await http.post(BASE + "open", headers=HEADERS)
        page = await desk.get("/staff/sued/counters/1", headers=HTML)
        r = await desk.post(
            "/staff/sued/counters/1/pause",
            headers=HTML,
            data={"csrf": csrf_of(page.text), "reason": "lunch"},
        )
        again = await desk.get(r.headers["location"], headers=HTML)
        assert "Bitte wählen Sie einen Grund für die Pause." in again.text
        r = await desk.post(
            "/staff/sued/counters/1/pause",
            headers=HTML,
            data={"csrf": csrf_of(page.text), "reason": "meeting"},
        )
        paused = await desk.get(r.headers["location"], headers=HTML)
        assert "Pause: Besprechung" in paused.text
        assert any(a.endswith("/resume") for a in actions_of(paused.text))


async def test_the_stats_page_and_csv_show_counter_time_by_pause_reason(
    redis_server: EmbeddedRedis, redis: Redis, office: Office
) -> None:
    """Counter 1 open for 10 minutes, then a 20-minute break: the staff's statistics page
    lists its idle and break minutes, and the CSV has the columns per reason."""
    clock = SettableClock(datetime(2026, 11, 25, 9, 0, tzinfo=UTC))
    async with (
        live_server(redis_server.url, office, clock=clock) as srv,
        httpx.AsyncClient(base_url=srv.url, timeout=TIMEOUT) as desk,
    ):
        await desk.post(BASE + "open", headers=HEADERS)
        clock.now += timedelta(minutes=10)
        await desk.post(BASE + "pause", json={"reason": "break"}, headers=HEADERS)
        clock.now += timedelta(minutes=20)
        await log_in(desk, "reception-sued")
        page = await desk.get("/staff/sued/stats", headers=HTML)
        assert "Zeit der Schalter nach Zustand" in page.text
        row = re.search(r"<tr><th scope=\"row\">Schalter 1</th>(.*?)</tr>", page.text, re.S)
        assert row and "10,0\u00a0Min." in row.group(1) and "20,0\u00a0Min." in row.group(1)
        csv = (await desk.get("/staff/sued/stats.csv")).text
        assert "counter;serving_s;idle_s;paused_break_s" in csv
        assert "2026-11-25;1;0.0;600.0;1200.0;0.0;0.0;0.0;0.0" in csv
