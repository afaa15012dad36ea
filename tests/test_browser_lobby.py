"""The lobby screen and the reception page as people in the room read them: a call's blink
readable in every frame, the stale banner beside (not over) the location's name and the
clock, a transferred ticket called once, recent calls also under long service names."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, WebSocketRoute, expect
from redis.asyncio import Redis

from tests.browser import open_live, screenshot
from tests.helpers import TIMEOUT, LiveServer, auth, live_server, office_with_sued, serve_queues
from tests.test_browser_flows import log_in
from waitboard.core.office import Office
from waitboard.store.embedded import EmbeddedRedis

pytestmark = pytest.mark.browser
MS = TIMEOUT * 1000

#: The colours of a text and of what lies behind it, and their contrast (WCAG 2.x).
CONTRAST = """
(selector) => {
  const rgb = (s) => s.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const lum = ([r, g, b]) => {
    const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const card = document.querySelector("[data-latest]");
  const back = lum(rgb(getComputedStyle(card).backgroundColor));
  return [...card.querySelectorAll(selector)].map((el) => {
    const fore = lum(rgb(getComputedStyle(el).color));
    return [el.textContent.trim(), (Math.max(fore, back) + 0.05) / (Math.min(fore, back) + 0.05)];
  });
}
"""


async def call_one(http: httpx.AsyncClient, queue: str = "A", counter: str = "1") -> Any:
    await http.post(
        "/api/v1/locations/sued/tickets", json={"queue": queue}, headers=auth("terminal-sued")
    )
    device = auth(f"counter-sued-{counter}")
    await http.post(f"/api/v1/locations/sued/counters/{counter}/open", headers=device)
    called = await http.post(f"/api/v1/locations/sued/counters/{counter}/call-next", headers=device)
    assert called.status_code == 200, called.text
    return called.json()


async def test_a_calls_blink_is_readable_in_every_frame(
    browser: Browser, server: LiveServer, http: httpx.AsyncClient
) -> None:
    """While a new call blinks, every frame of it has its text at 4.5:1 or more against
    its card (measured at twenty moments of the animation, not by eye)."""
    page = await open_live(browser, server.url + "/screens/sued")
    await call_one(http)
    latest = page.locator("[data-latest]")
    await expect(latest).to_have_class("now flash", timeout=MS)
    worst: list[tuple[int, str, float]] = []
    for step in range(20):
        at = step * 50 + 25  # ms into a one-second blink
        await page.evaluate(
            """(at) => { for (const a of document.querySelector('[data-latest]').getAnimations())
                         { a.pause(); a.currentTime = at; } }""",
            at,
        )
        for text, ratio in await page.evaluate(CONTRAST, "h2, .number, .arrow, .counter"):
            worst.append((at, text, round(ratio, 2)))
    too_low = [w for w in worst if w[2] < 4.5]
    assert not too_low, too_low


async def stale_boxes(page: Page) -> dict[str, dict[str, float]]:
    """Where the stale banner, the location's name, the clock and the call lie."""
    boxes = {}
    for name, selector in {
        "banner": "[data-stale]",
        "name": ".screen-head h1",
        "clock": ".screen-head .clock",
        "call": "[data-latest]",
    }.items():
        box = await page.locator(selector).bounding_box()
        assert box is not None, name
        boxes[name] = box
    return boxes


def overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


@pytest.mark.parametrize("size", [(1920, 1080), (1080, 1920)])
async def test_the_stale_banner_covers_neither_name_nor_clock(
    browser: Browser, server: LiveServer, http: httpx.AsyncClient, size: tuple[int, int]
) -> None:
    """When the screen has heard nothing for a while, its banner says so above the
    location's name and the clock, which stay readable, and the call stays on the screen."""
    await call_one(http)
    context = await browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = await context.new_page()
    silent = False

    def swallow_once_silent(ws: WebSocketRoute) -> None:
        # Between the server and the screen: it passes frames on until the line goes quiet.
        server_side = ws.connect_to_server()
        server_side.on_message(lambda message: None if silent else ws.send(message))

    await page.route_web_socket("**/ws/locations/sued", swallow_once_silent)
    await page.clock.install()
    await page.goto(server.url + "/screens/sued")
    await page.wait_for_selector("body[data-live=open]")
    silent = True
    await page.clock.run_for(16_000)  # nothing heard for 16 s, as the screen sees it
    banner = page.locator("[data-stale]")
    await expect(banner).to_be_visible(timeout=MS)
    boxes = await stale_boxes(page)
    for part in ("name", "clock", "call"):
        assert not overlap(boxes["banner"], boxes[part]), (part, boxes)
        assert boxes[part]["y"] + boxes[part]["height"] <= size[1], (part, boxes)
    await screenshot(page, f"lobby-stale-{size[0]}x{size[1]}")
    await context.close()


async def test_a_transferred_ticket_is_called_once_on_the_lobby(
    browser: Browser, server: LiveServer, http: httpx.AsyncClient
) -> None:
    """Called to one counter, sent on to another service and called there: the lobby
    shows the number once, at the counter it must go to now."""
    page = await open_live(browser, server.url + "/screens/sued")
    first = await call_one(http, "A", "1")
    moved = await http.post(
        f"/api/v1/tickets/{first['id']}/transfer",
        json={"queue": "B"},
        headers=auth("counter-sued-1"),
    )
    assert moved.status_code == 200, moved.text
    await call_one(http, "A", "1")  # someone else in between
    device = auth("counter-sued-2")
    await http.post("/api/v1/locations/sued/counters/2/open", headers=device)
    again = await http.post("/api/v1/locations/sued/counters/2/call-next", headers=device)
    assert again.json()["number"] == first["number"]
    latest = page.locator('[data-latest] [data-f="number"]')
    await expect(latest).to_have_text(first["number"], timeout=MS)
    await expect(page.locator('[data-latest] [data-f="counter"]')).to_have_text("Schalter 2")
    recent = page.locator('[data-list="calls"] li .number')
    await expect(recent).to_have_text(["A002"])
    state = (await http.get("/api/v1/locations/sued")).json()
    assert [c["number"] for c in state["calls"]] == [first["number"], "A002"]


#: Service names as long as offices give them, four of them (as the demo office has).
LONG_NAMES = {
    "A": "Eingangszone und allgemeine Anliegen zum Bürgergeld",
    "B": "Leistungen nach dem Zweiten Buch Sozialgesetzbuch (SGB II)",
    "C": "Arbeitsvermittlung und Beratung zur beruflichen Rehabilitation",
    "D": "Unterhaltsvorschuss und Wohngeldangelegenheiten",
}


def office_with_long_names() -> Office:
    def edit(sued: dict[str, Any]) -> None:
        sued["queues"] += [{"id": q, "service_minutes": 10} for q in ("C", "D")]
        for q in sued["queues"]:
            q["name"] = LONG_NAMES[q["id"]]
        serve_queues(sued, "2", ["C", "D"])

    return office_with_sued(edit)


@pytest.fixture
async def long_names_server(redis_server: EmbeddedRedis, redis: Redis) -> AsyncIterator[LiveServer]:
    async with live_server(redis_server.url, office_with_long_names()) as srv:
        yield srv


@pytest.mark.parametrize("size", [(1080, 1920), (720, 1280)])
async def test_an_upright_lobby_with_long_service_names_shows_recent_calls(
    browser: Browser, long_names_server: LiveServer, size: tuple[int, int]
) -> None:
    """Upright, with service names as long as an office writes them, the lobby still shows
    the recent calls under their heading, whole, for whoever missed theirs."""
    async with httpx.AsyncClient(base_url=long_names_server.url, timeout=TIMEOUT) as http:
        for _ in range(4):
            called = await call_one(http, "A", "1")
            await http.post(
                f"/api/v1/tickets/{called['id']}/no-show", headers=auth("counter-sued-1")
            )
    page = await browser.new_page(viewport={"width": size[0], "height": size[1]})
    await page.goto(long_names_server.url + "/screens/sued")
    await expect(page.locator('[data-latest] [data-f="number"]')).to_have_text("A004")
    await screenshot(page, f"lobby-long-names-{size[0]}x{size[1]}")
    heading = page.locator("#recent-title")
    await expect(heading).to_be_visible()
    rows = page.locator('[data-list="calls"] li')
    await expect(rows.first).to_be_visible()
    for part in (heading, rows.first, page.locator(".queue-tile").last):
        box = await part.bounding_box()
        assert box and box["y"] + box["height"] <= size[1]
    await page.close()


#: Whatever sticks out of its button or its queue's panel (or out of itself: a text wider
#: than its box), by its text.
SPILLING = """
() => [...document.querySelectorAll("main .panel, main .big-button")].flatMap((box) => {
  const r = box.getBoundingClientRect();
  return [box, ...box.querySelectorAll("*")].filter((el) => {
    const e = el.getBoundingClientRect();
    return e.width > 1 && !el.closest(".sr-only") && (e.left < r.left - 1 || e.right > r.right + 1
      || el.scrollWidth > el.clientWidth + 1);
  }).map((el) => `${el.tagName}: ${el.textContent.trim().slice(0, 40)}`);
})
"""


async def test_the_reception_page_fits_1366_pixels_with_long_service_names(
    browser: Browser, long_names_server: LiveServer
) -> None:
    """At 1366 px (a common office monitor) with long service names, the reception page
    does not scroll sideways, and no name sticks out of its button or its queue's list:
    the names break instead."""
    async with httpx.AsyncClient(base_url=long_names_server.url, timeout=TIMEOUT) as http:
        for queue in ("A", "B"):
            await http.post(
                "/api/v1/locations/sued/tickets",
                json={"queue": queue},
                headers=auth("terminal-sued"),
            )
    page = await log_in(
        browser, long_names_server, "reception-sued", viewport={"width": 1366, "height": 768}
    )
    await expect(page.locator('[data-issue="B"]')).to_be_visible()
    widths = await page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
    assert widths[0] <= widths[1], widths
    assert await page.evaluate(SPILLING) == []
    await screenshot(page, "reception-long-names-1366", full_page=True)
