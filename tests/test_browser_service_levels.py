"""Service levels on the staff pages, in a real Chromium: the reception and counter pages
say, live, when a queue passes its target - in words and a sign, not by colour alone -
pass axe and fit a phone; the public pages and the lobby screen never show it."""

from __future__ import annotations

import tomllib
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from playwright.async_api import Browser, expect
from redis.asyncio import Redis

from tests.browser import screenshot
from tests.helpers import (
    MONDAY_8,
    OFFICE_PATH,
    TIMEOUT,
    LiveServer,
    SettableClock,
    auth,
    live_server,
)
from tests.test_accessibility import violations
from tests.test_browser_flows import log_in
from waitboard.core.office import parse_office
from waitboard.store.embedded import EmbeddedRedis

pytestmark = pytest.mark.browser
MS = TIMEOUT * 1000


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock(MONDAY_8)


@pytest.fixture
async def server(
    redis_server: EmbeddedRedis, redis: Redis, clock: SettableClock
) -> AsyncIterator[LiveServer]:
    raw = tomllib.loads(OFFICE_PATH.read_text(encoding="utf-8"))
    raw["service_level"] = {"share": 0.8, "within_minutes": 20}
    async with live_server(redis_server.url, parse_office(raw, "office.toml"), clock=clock) as srv:
        yield srv


async def test_reception_and_counter_show_live_when_a_queue_passes_its_target(
    browser: Browser, server: LiveServer, clock: SettableClock
) -> None:
    """A ticket waits: "Im Serviceziel"; 21 minutes later, without a reload, the reception
    says "Serviceziel überschritten" with the longest wait, and so does the counter that
    serves the queue; both pages pass axe, and fit a 360 px phone."""
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as http:
        r = await http.post(
            "/api/v1/locations/sued/tickets", json={"queue": "A"}, headers=auth("terminal-sued")
        )
        assert r.status_code == 201
    page = await log_in(browser, server, "reception-sued", viewport={"width": 1280, "height": 900})
    await page.goto(server.url + "/staff/sued/reception")
    marker = page.locator('.panel[data-queue="A"] [data-sla]')
    await expect(marker).to_contain_text("Im Serviceziel", timeout=MS)
    await expect(marker).to_contain_text("Ziel: 80\u00a0% in 20 Min.", timeout=MS)
    await page.evaluate("document.body.dataset.marked = '1'")  # (gone after a reload)

    clock.now += timedelta(minutes=21)
    await expect(marker).to_contain_text("Serviceziel überschritten", timeout=MS)
    await expect(marker).to_have_attribute("data-sla", "missed")
    await expect(marker).to_contain_text("längste Wartezeit 21 Min.")
    await expect(marker.locator(".sla-mark")).to_have_attribute("aria-hidden", "true")
    assert await page.evaluate("document.body.dataset.marked") == "1"  # live, not reloaded
    assert await violations(page) == []
    await screenshot(page, "reception-service-level")

    counter = await log_in(
        browser, server, "counter-sued-1", viewport={"width": 360, "height": 740}
    )
    await counter.goto(server.url + "/staff/sued/counters/1")
    served = counter.locator('.sla-queue[data-queue="A"] [data-sla]')
    await expect(served).to_contain_text("Serviceziel überschritten", timeout=MS)
    assert await counter.evaluate("document.documentElement.scrollWidth") <= 360
    assert await violations(counter) == []


async def test_public_pages_and_the_lobby_never_show_service_levels(
    browser: Browser, server: LiveServer, clock: SettableClock
) -> None:
    """With a queue past its target, the location's public page and its lobby screen say
    nothing of targets: that is for staff."""
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as http:
        await http.post(
            "/api/v1/locations/sued/tickets", json={"queue": "A"}, headers=auth("terminal-sued")
        )
        clock.now += timedelta(minutes=25)
        snapshot = (await http.get("/api/v1/locations/sued")).json()
    assert "service_level" not in str(snapshot)
    for path in ("/locations/sued", "/screens/sued"):
        page = await browser.new_page()
        await page.goto(server.url + path)
        await expect(page.locator("body")).to_be_visible()
        assert await page.locator("[data-sla]").count() == 0
        assert "Serviceziel" not in await page.content()
        await page.close()
