"""axe-core finds no serious or critical violation on any page (public, lobby, staff)."""

from __future__ import annotations

import httpx
import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, Page
from redis.asyncio import Redis

from tests.browser import screenshot
from tests.helpers import LiveServer, auth, get_when, live_server, waiting
from tests.test_browser_flows import log_in
from waitboard.settings import DEMO_CONFIG, load_office
from waitboard.store.embedded import EmbeddedRedis

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


async def violations(page: Page) -> list[str]:
    """axe-core violations of every impact (minor ones too), one line each."""
    results = await Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} - "
        + "; ".join(n["target"][0] for n in v["nodes"][:3])
        for v in results.response["violations"]
    ]


@pytest.fixture
async def ticket(http: httpx.AsyncClient) -> dict:
    """A lived-in location: tickets waiting, one called, counters open."""
    for queue in ("A", "A", "B"):
        r = await http.post(
            "/api/v1/locations/sued/tickets", json={"queue": queue}, headers=auth("reception-sued")
        )
    await http.post("/api/v1/locations/sued/counters/1/open", headers=auth("counter-sued-1"))
    await http.post("/api/v1/locations/sued/counters/1/call-next", headers=auth("counter-sued-1"))
    await get_when(
        http, "/api/v1/locations/sued", lambda s: waiting(s.json())["A"] == 1, "the seeded state"
    )
    return r.json()


@pytest.mark.parametrize(
    ("path", "viewport", "shot"),
    [
        ("/", PHONE, "public-overview"),
        ("/locations/sued", PHONE, "public-location"),
        ("/locations/sued?lang=en", PHONE, None),
        ("{ticket}", PHONE, "ticket"),
        ("/screens/sued", {"width": 1920, "height": 1080}, None),
        ("/staff/login", {"width": 1280, "height": 800}, None),
    ],
)
async def test_public_pages_pass_axe(
    browser: Browser, server: LiveServer, ticket: dict, path: str, viewport: dict, shot: str | None
) -> None:
    """No serious or critical accessibility violation (and a screenshot for the README)."""
    page = await browser.new_page(viewport=viewport)
    await page.goto(server.url + path.format(ticket=ticket["url"]))
    await page.wait_for_selector("body[data-live=open]") if "login" not in path else None
    assert await violations(page) == []
    if shot:
        await screenshot(page, shot, full_page=True)


@pytest.mark.parametrize(
    "path",
    [
        "/barrierefreiheit",
        "/barrierefreiheit/melden",
        "/leichte-sprache",
        "/gebaerdensprache",
        "/barrierefreiheit?lang=en",
    ],
)
async def test_the_bitv_pages_pass_axe_on_a_phone(
    browser: Browser, server: LiveServer, path: str
) -> None:
    page = await browser.new_page(viewport=PHONE)
    await page.goto(server.url + path)
    assert await violations(page) == []


async def test_a_refused_barrier_report_passes_axe(browser: Browser, server: LiveServer) -> None:
    """The form sent back with its error beside the field, read by a keyboard user."""
    page = await browser.new_page(viewport=PHONE)
    await page.goto(server.url + "/barrierefreiheit/melden")
    await page.keyboard.press("Tab")  # the skip link, then into the page
    await page.fill("#text", "zu kurz")
    await page.fill("#text", "kurz")
    await page.locator("button[type=submit]").press("Enter")
    await page.wait_for_selector("#text-error")
    assert await page.evaluate("document.activeElement.id") == "text"
    assert await violations(page) == []


@pytest.mark.parametrize(
    ("device", "path"),
    [
        ("reception-sued", "/staff/sued/reception"),
        ("counter-sued-1", "/staff/sued/counters/1"),
        ("terminal-sued", "/terminal/sued"),
        ("reception-sued", "{print}"),
        ("reception-sued", "/staff/sued/stats"),
    ],
)
async def test_staff_pages_pass_axe(
    browser: Browser, server: LiveServer, ticket: dict, device: str, path: str
) -> None:
    """Reception, counter, terminal and the printed ticket: no serious or critical issue."""
    page = await log_in(browser, server, device, viewport={"width": 1280, "height": 900})
    await page.goto(server.url + path.format(print=f"/staff/sued/tickets/{ticket['id']}/print"))
    assert await violations(page) == []
    if path == "{print}":
        await screenshot(page, "printed-ticket")


@pytest.mark.parametrize(
    ("device", "path"),
    [
        ("reception-sued", "/staff/sued/reception"),
        ("counter-sued-1", "/staff/sued/counters/1"),
        ("reception-sued", "/staff/sued/stats"),
        ("caseworker", "/staff/applications"),
    ],
)
async def test_staff_pages_fit_a_phone(
    browser: Browser, server: LiveServer, ticket: dict, device: str, path: str
) -> None:
    """On a 360 px phone a staff page does not scroll sideways (a wide table scrolls in
    its own box) and has no serious accessibility issue."""
    page = await log_in(browser, server, device, viewport={"width": 360, "height": 740})
    await page.goto(server.url + path)
    assert await page.evaluate("document.documentElement.scrollWidth") <= 360
    assert await violations(page) == []
    await page.context.close()


#: Where a syllable group of a service name is split over two lines (one Range, several
#: line boxes): a name may break at a blank or a soft hyphen, nowhere else.
SPLIT_WORDS = """
() => {
  const split = [];
  for (const cell of document.querySelectorAll(".queues th[scope=row]")) {
    const node = cell.firstChild;
    if (!node || node.nodeType !== Node.TEXT_NODE) continue;
    for (const m of node.textContent.matchAll(/[^\\s\\u00ad]+/g)) {
      // Each letter's line (not the piece's boxes: the hyphen drawn at a soft hyphen's
      // break is a box of the next piece, on the line before).
      const tops = [];
      for (let k = m.index; k < m.index + m[0].length; k++) {
        const range = document.createRange();
        range.setStart(node, k);
        range.setEnd(node, k + 1);
        const boxes = range.getClientRects();
        tops.push(boxes[boxes.length - 1].top);
      }
      if (Math.max(...tops) - Math.min(...tops) > 5) split.push(m[0]);
    }
  }
  return split;
}
"""


#: Opening hours whose range ("14:00–18:00") is split over two lines.
SPLIT_RANGES = """
() => {
  const split = [];
  for (const cell of document.querySelectorAll(".hours td")) {
    const node = cell.firstChild;
    if (!node || node.nodeType !== Node.TEXT_NODE) continue;
    for (const m of node.textContent.matchAll(/\\d\\d:\\d\\d\\W+\\d\\d:\\d\\d/g)) {
      const range = document.createRange();
      range.setStart(node, m.index);
      range.setEnd(node, m.index + m[0].length);
      const tops = [...range.getClientRects()].map((box) => box.top);
      if (Math.max(...tops) - Math.min(...tops) > 5) split.push(m[0]);
    }
  }
  return split;
}
"""


@pytest.mark.parametrize("width", [320, 360, 375])
async def test_a_small_phone_shows_whole_service_names_without_sideways_scrolling(
    browser: Browser, redis_server: EmbeddedRedis, redis: Redis, width: int
) -> None:
    """The demo office's longest names ("Arbeitsvermittlung", "Termin Leistungen") break
    only at a blank or between syllables ("Arbeitsver-mittlung") on the overview, a
    location page and the terminal's page, opening hours only between their ranges, and
    nothing is wider than the phone."""
    demo = load_office(DEMO_CONFIG)
    async with live_server(redis_server.url, demo) as srv:
        page = await browser.new_page(viewport={"width": width, "height": 740})
        for path in ("/", "/locations/mitte"):
            await page.goto(srv.url + path)
            assert await page.evaluate(SPLIT_WORDS) == [], path
            assert await page.evaluate("document.documentElement.scrollWidth") <= width, path
        assert await page.evaluate("document.querySelectorAll('.hours td').length") == 7
        assert await page.evaluate(SPLIT_RANGES) == []
        # The terminal's page too, opened on a small tablet or phone.
        await page.goto(srv.url + "/staff/login")
        await page.get_by_label("Gerätetoken").fill("demo-terminal-mitte-1")
        await page.get_by_role("button", name="Anmelden").click()
        await page.wait_for_url("**/terminal/mitte")
        assert await page.evaluate(SPLIT_WORDS) == [], "/terminal/mitte"
        assert await page.evaluate("document.documentElement.scrollWidth") <= width
        await page.close()
