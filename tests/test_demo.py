"""The demo office (`make run`) at any hour: open, and every page and device says so."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.async_api import Browser, expect
from redis.asyncio import Redis

from tests.helpers import TIMEOUT, LiveServer, SettableClock, live_server
from waitboard.demo import demo_token
from waitboard.settings import DEMO_CONFIG, load_office
from waitboard.store.embedded import EmbeddedRedis

#: Sunday 6 December 2026, 02:30 in Berlin: when a real Jobcenter is closed.
SUNDAY_NIGHT = datetime(2026, 12, 6, 1, 30, tzinfo=UTC)


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock(SUNDAY_NIGHT)


@pytest.fixture
async def demo(
    redis_server: EmbeddedRedis, redis: Redis, clock: SettableClock
) -> AsyncIterator[LiveServer]:
    """The demo office as `waitboard serve --demo` serves it, on a Sunday night."""
    async with live_server(redis_server.url, load_office(DEMO_CONFIG), clock=clock) as srv:
        yield srv


def bearer(device: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {demo_token(device)}"}


async def test_the_demo_office_is_open_on_a_sunday_night(demo: LiveServer) -> None:
    """Every location is open, with no closing time to announce; the pages say "geöffnet"
    ("open"), never "öffnet ..." ("opens ...") or "bis 24:00 Uhr", in either language."""
    async with httpx.AsyncClient(base_url=demo.url, timeout=TIMEOUT) as http:
        for loc in (await http.get("/api/v1/locations")).json()["locations"]:
            snap = (await http.get(f"/api/v1/locations/{loc['id']}")).json()
            assert (snap["open"], snap["closes_at"], snap["opens_at"]) == (True, None, None)
        for path in ("/", "/locations/mitte", "/screens/mitte"):
            german = await http.get(path)
            assert set(OPENING.findall(german.text)) == {"geöffnet"}, path
            assert "öffnet " not in shown(german).replace("geöffnet", ""), path
            assert "bis 24:00" not in shown(german), path
            english = await http.get(path, params={"lang": "en"})
            assert set(OPENING.findall(english.text)) == {"open"}, path
            assert "opens" not in shown(english) and "open until" not in shown(english), path


#: The opening state of a location, as a page shows it.
OPENING = re.compile(r'<span data-f="opening-text">([^<]*)</span>')


def shown(r: httpx.Response) -> str:
    """A page's text as a reader sees it: no scripts (live.js's texts for later), no tags."""
    assert r.status_code == 200, r.status_code
    return re.sub(r"<[^>]*>", " ", re.sub(r"<script\b.*?</script>", "", r.text, flags=re.S))


async def test_appointments_can_be_booked_and_checked_in_at_night(
    demo: LiveServer, clock: SettableClock
) -> None:
    """At 02:30 the next slots of the night can be booked, and a booking made now is
    checked in at the terminal when its time has come."""
    async with httpx.AsyncClient(base_url=demo.url, timeout=TIMEOUT) as http:
        offered = (await http.get("/api/v1/locations/mitte/appointments")).json()["queues"]
        assert "2026-12-06" in [d["date"] for d in offered[0]["days"]]
        r = await http.get("/api/v1/locations/mitte/appointments/T", params={"date": "2026-12-06"})
        slots = [s for s in r.json()["slots"] if s["free"]]
        assert slots[0]["start"].startswith("2026-12-06T03:00")
        r = await http.post(
            "/api/v1/locations/mitte/appointments", json={"queue": "T", "start": slots[0]["start"]}
        )
        assert r.status_code == 201, r.text
        clock.now = SUNDAY_NIGHT + timedelta(minutes=30)  # 03:00
        r = await http.post(
            "/api/v1/locations/mitte/check-in",
            json={"code": r.json()["code"]},
            headers=bearer("terminal-mitte-1"),
        )
        assert r.status_code == 201, r.text
        assert r.json()["number"] == "T001"


@pytest.mark.browser
async def test_the_terminal_issues_a_ticket_at_night(browser: Browser, demo: LiveServer) -> None:
    """The terminal of the demo office shows its buttons at 02:30 on a Sunday, and a
    press gives a ticket."""
    page = await browser.new_page(viewport={"width": 1080, "height": 1400})
    await page.goto(demo.url + "/staff/login")
    await page.get_by_label("Gerätetoken").fill(demo_token("terminal-mitte-1"))
    await page.get_by_role("button", name="Anmelden").click()
    await page.wait_for_url("**/terminal/mitte")
    for queue in ("A", "B", "C"):
        await expect(page.locator(f'[data-issue="{queue}"]')).to_be_enabled()
    await page.locator('[data-issue="B"]').click()
    await expect(page.locator(".terminal-done .ticket-number")).to_have_text(
        "B001", timeout=TIMEOUT * 1000
    )
