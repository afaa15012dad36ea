"""Pages in a real Chromium: live updates arrive without a reload."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.conftest import TIMEOUT, LiveServer, auth, require_tool

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic", "--autoplay-policy=no-user-gesture-required"]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    chromium = require_tool("chromium")
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield b
        await b.close()


async def open_live(browser: Browser, url: str) -> Page:
    page = await browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(url)
    await expect(page.locator("body")).to_have_attribute("data-live", "open",
                                                         timeout=TIMEOUT * 1000)
    assert not errors, errors
    return page


async def test_lobby_screen_shows_a_call_without_reload(browser: Browser, server: LiveServer,
                                                        http: httpx.AsyncClient) -> None:
    """A call made through the API appears on an open /screens/X, then its recall."""
    page = await open_live(browser, server.url + "/screens/sued")
    r = await http.post("/api/v1/locations/sued/tickets", json={"queue": "A"},
                        headers=auth("terminal-sued"))
    number = r.json()["number"]
    await http.post("/api/v1/locations/sued/counters/1/open", headers=auth("counter-sued-1"))
    called = await http.post("/api/v1/locations/sued/counters/1/call-next",
                             headers=auth("counter-sued-1"))
    assert called.status_code == 200
    latest = page.locator("[data-latest]")
    await expect(latest.locator('[data-f="number"]')).to_have_text(number,
                                                                    timeout=TIMEOUT * 1000)
    await expect(latest.locator('[data-f="counter"]')).to_have_text("Schalter 1")
    await expect(latest).to_have_class("now flash")
    await page.evaluate("document.querySelector('[data-latest]').classList.remove('flash')")
    await http.post(f"/api/v1/tickets/{called.json()['id']}/recall",
                    headers=auth("counter-sued-1"))
    await expect(latest).to_have_class("now flash", timeout=TIMEOUT * 1000)


async def test_location_page_updates_live(browser: Browser, server: LiveServer,
                                          http: httpx.AsyncClient) -> None:
    """The public location page shows a new waiting ticket without a reload."""
    page = await open_live(browser, server.url + "/locations/sued")
    cell = page.locator('tr[data-queue="B"] [data-f="waiting"]')
    await expect(cell).to_have_text("0")
    await http.post("/api/v1/locations/sued/tickets", json={"queue": "B"},
                    headers=auth("terminal-sued"))
    await expect(cell).to_have_text("1", timeout=TIMEOUT * 1000)


async def test_ticket_page_follows_the_ticket(browser: Browser, server: LiveServer,
                                              http: httpx.AsyncClient) -> None:
    """The citizen's page moves up when someone ahead is called and shows the counter."""
    first = (await http.post("/api/v1/locations/sued/tickets", json={"queue": "A"},
                             headers=auth("terminal-sued"))).json()
    mine = (await http.post("/api/v1/locations/sued/tickets", json={"queue": "A"},
                            headers=auth("terminal-sued"))).json()
    assert first["number"] != mine["number"]
    page = await open_live(browser, server.url + mine["url"])
    await expect(page.locator('[data-f="position"]')).to_have_text("2")
    await http.post("/api/v1/locations/sued/counters/1/open", headers=auth("counter-sued-1"))
    await http.post("/api/v1/locations/sued/counters/1/call-next",
                    headers=auth("counter-sued-1"))
    await expect(page.locator('[data-f="position"]')).to_have_text("1", timeout=TIMEOUT * 1000)
    await http.post(f"/api/v1/tickets/{first['id']}/no-show", headers=auth("counter-sued-1"))
    await http.post("/api/v1/locations/sued/counters/1/call-next",
                    headers=auth("counter-sued-1"))
    go_to = page.locator('[data-f="go_to"]')
    await expect(go_to).to_have_text("Bitte zu Schalter 1", timeout=TIMEOUT * 1000)
    await expect(page.locator('[data-f="status"]')).to_have_text("Sie werden aufgerufen")
