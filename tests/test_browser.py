"""Pages in a real Chromium: live updates arrive without a reload."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Browser, expect

from tests.browser import open_live, screenshot
from tests.helpers import TIMEOUT, LiveServer, auth

pytestmark = pytest.mark.browser


async def test_lobby_screen_shows_a_call_without_reload(
    browser: Browser, server: LiveServer, http: httpx.AsyncClient
) -> None:
    """A call made through the API appears on an open /screens/X, then its recall."""
    page = await open_live(browser, server.url + "/screens/sued")
    r = await http.post(
        "/api/v1/locations/sued/tickets", json={"queue": "A"}, headers=auth("terminal-sued")
    )
    number = r.json()["number"]
    await http.post("/api/v1/locations/sued/counters/1/open", headers=auth("counter-sued-1"))
    called = await http.post(
        "/api/v1/locations/sued/counters/1/call-next", headers=auth("counter-sued-1")
    )
    assert called.status_code == 200
    latest = page.locator("[data-latest]")
    await expect(latest.locator('[data-f="number"]')).to_have_text(number, timeout=TIMEOUT * 1000)
    await expect(latest.locator('[data-f="counter"]')).to_have_text("Schalter 1")
    # Open around the clock: no closing time to announce (not "bis 24:00 Uhr").
    await expect(page.locator(".screen-head .opening")).to_contain_text("geöffnet")
    await expect(page.locator(".screen-head .opening")).not_to_contain_text("bis")
    await expect(latest).to_have_class("now flash")
    await page.evaluate("document.querySelector('[data-latest]').classList.remove('flash')")
    await http.post(f"/api/v1/tickets/{called.json()['id']}/recall", headers=auth("counter-sued-1"))
    await expect(latest).to_have_class("now flash", timeout=TIMEOUT * 1000)


async def test_the_lobby_highlight_of_a_call_ends_after_its_eight_seconds(
    browser: Browser, server: LiveServer, http: httpx.AsyncClient
) -> None:
    """A call lights up the lobby's latest call; eight seconds on (the page's clock, run
    forward) the highlight is gone, so the arrow and the recall mark show their colours."""
    context = await browser.new_context(viewport={"width": 1920, "height": 1080})
    page = await context.new_page()
    await page.clock.install()
    await page.goto(server.url + "/screens/sued")
    await page.wait_for_selector("body[data-live=open]")
    await http.post(
        "/api/v1/locations/sued/tickets", json={"queue": "A"}, headers=auth("terminal-sued")
    )
    await http.post("/api/v1/locations/sued/counters/1/open", headers=auth("counter-sued-1"))
    await http.post("/api/v1/locations/sued/counters/1/call-next", headers=auth("counter-sued-1"))
    latest = page.locator("[data-latest]")
    await expect(latest).to_have_class("now flash", timeout=TIMEOUT * 1000)
    await page.clock.run_for(7_000)
    await expect(latest).to_have_class("now flash")
    await page.clock.run_for(1_500)
    await expect(latest).to_have_class("now")
    await context.close()


@pytest.mark.parametrize("size", [(1080, 1920), (360, 740)], ids=["upright TV", "phone"])
async def test_the_lobby_screen_fits_an_upright_screen_and_a_phone(
    browser: Browser, server: LiveServer, http: httpx.AsyncClient, size: tuple[int, int]
) -> None:
    """Upright or on a phone, the lobby screen is one column within the screen, the
    latest call and every queue's tile on it."""
    await http.post(
        "/api/v1/locations/sued/tickets", json={"queue": "A"}, headers=auth("terminal-sued")
    )
    await http.post("/api/v1/locations/sued/counters/1/open", headers=auth("counter-sued-1"))
    await http.post("/api/v1/locations/sued/counters/1/call-next", headers=auth("counter-sued-1"))
    page = await browser.new_page(viewport={"width": size[0], "height": size[1]})
    await page.goto(server.url + "/screens/sued")
    await expect(page.locator('[data-latest] [data-f="number"]')).to_have_text("A001")
    assert await page.evaluate("document.documentElement.scrollWidth") <= size[0]
    for box in (page.locator("[data-latest]"), page.locator(".queue-tile").last):
        bounds = await box.bounding_box()
        assert bounds and bounds["x"] >= 0 and bounds["x"] + bounds["width"] <= size[0]
        assert bounds["y"] + bounds["height"] <= size[1]  # (a TV cannot be scrolled)
    await screenshot(page, f"lobby-{size[0]}x{size[1]}", full_page=True)
    await page.close()


#: The parts of the latest call (number, counter, "erneuter Aufruf") that its card shows
#: only in part or not at all.
CLIPPED_CALL = """
() => {
  const card = document.querySelector("[data-latest]").getBoundingClientRect();
  return [...document.querySelectorAll("[data-latest] .number, [data-latest] .counter, "
      + "[data-latest] .recall:not([hidden])")].filter((el) => {
    const r = el.getBoundingClientRect();
    return r.top < card.top - 1 || r.bottom > card.bottom + 1 || r.left < card.left - 1
      || r.right > card.right + 1 || r.bottom > innerHeight + 1;
  }).map((el) => el.textContent.trim());
}
"""


@pytest.mark.parametrize(
    "size", [(1920, 1080), (1280, 1024), (1366, 768), (1024, 768), (1080, 1920), (360, 740)]
)
async def test_the_latest_call_shows_whole_on_every_screen_shape(
    browser: Browser, server: LiveServer, http: httpx.AsyncClient, size: tuple[int, int]
) -> None:
    """The number, the counter to go to and "erneuter Aufruf" are always wholly on the
    screen - on a 5:4 monitor, a small one, upright or a phone too - also with a long
    location and counter name (fitted again, as on a new call, when the screen's size
    changes); the call's card shrinks its text instead."""
    await http.post(
        "/api/v1/locations/sued/tickets", json={"queue": "A"}, headers=auth("terminal-sued")
    )
    await http.post("/api/v1/locations/sued/counters/1/open", headers=auth("counter-sued-1"))
    called = await http.post(
        "/api/v1/locations/sued/counters/1/call-next", headers=auth("counter-sued-1")
    )
    await http.post(f"/api/v1/tickets/{called.json()['id']}/recall", headers=auth("counter-sued-1"))
    page = await browser.new_page(viewport={"width": size[0], "height": size[1]})
    await page.goto(server.url + "/screens/sued")
    await expect(page.locator('[data-latest] [data-f="recall"]')).to_be_visible()
    assert await page.evaluate(CLIPPED_CALL) == []
    await page.evaluate(
        """() => { document.querySelector('[data-latest] .counter').textContent =
                   'Schalter 12 (2. OG)';
                   document.querySelector('.screen-head h1').textContent =
                   'Jobcenter Musterstadt Mitte';
                   dispatchEvent(new Event('resize')); }"""
    )
    assert await page.evaluate(CLIPPED_CALL) == []
    await page.close()


async def test_lobby_tiles_say_how_many_people_wait_in_words_that_agree(
    browser: Browser, server: LiveServer, http: httpx.AsyncClient
) -> None:
    """A lobby tile reads "0 warten", then live "1 wartet" - never "1 Wartende"."""
    page = await open_live(browser, server.url + "/screens/sued")
    tile = page.locator('.queue-tile[data-queue="B"]')
    await expect(tile.locator('[data-f="waiting-label"]')).to_have_text("warten")
    await http.post(
        "/api/v1/locations/sued/tickets", json={"queue": "B"}, headers=auth("terminal-sued")
    )
    await expect(tile.locator('[data-f="waiting"]')).to_have_text("1", timeout=TIMEOUT * 1000)
    await expect(tile.locator('[data-f="waiting-label"]')).to_have_text("wartet")


async def test_location_page_updates_live(
    browser: Browser, server: LiveServer, http: httpx.AsyncClient
) -> None:
    """The public location page shows a new waiting ticket without a reload."""
    page = await open_live(browser, server.url + "/locations/sued")
    cell = page.locator('tr[data-queue="B"] [data-f="waiting"]')
    await expect(cell).to_have_text("0")
    await http.post(
        "/api/v1/locations/sued/tickets", json={"queue": "B"}, headers=auth("terminal-sued")
    )
    await expect(cell).to_have_text("1", timeout=TIMEOUT * 1000)


async def test_ticket_page_follows_the_ticket(
    browser: Browser, server: LiveServer, http: httpx.AsyncClient
) -> None:
    """The citizen's page moves up when someone ahead is called and shows the counter."""
    first = (
        await http.post(
            "/api/v1/locations/sued/tickets", json={"queue": "A"}, headers=auth("terminal-sued")
        )
    ).json()
    mine = (
        await http.post(
            "/api/v1/locations/sued/tickets", json={"queue": "A"}, headers=auth("terminal-sued")
        )
    ).json()
    assert first["number"] != mine["number"]
    page = await open_live(browser, server.url + mine["url"])
    ahead = page.locator('[data-f="ahead"]')
    await expect(ahead).to_have_text("1")
    await http.post("/api/v1/locations/sued/counters/1/open", headers=auth("counter-sued-1"))
    await http.post("/api/v1/locations/sued/counters/1/call-next", headers=auth("counter-sued-1"))
    await expect(ahead).to_have_text("0", timeout=TIMEOUT * 1000)
    await http.post(f"/api/v1/tickets/{first['id']}/no-show", headers=auth("counter-sued-1"))
    await http.post("/api/v1/locations/sued/counters/1/call-next", headers=auth("counter-sued-1"))
    go_to = page.locator('[data-f="go_to"]')
    await expect(go_to).to_have_text("Bitte zu Schalter 1", timeout=TIMEOUT * 1000)
    await expect(page.locator('[data-f="status"]')).to_have_text("Sie werden aufgerufen")


async def test_ticket_page_follows_a_transfer_and_a_later_cancel(
    browser: Browser, server: LiveServer, http: httpx.AsyncClient
) -> None:
    """Transferred to another service, the page names the new one; cancelled there, the
    page says so - also when the new queue is longer than the old one was."""
    reception = auth("reception-sued")
    for _ in range(3):  # A longer than B: after the cancel A is still longer than B was
        await http.post("/api/v1/locations/sued/tickets", json={"queue": "A"}, headers=reception)
    mine = (
        await http.post("/api/v1/locations/sued/tickets", json={"queue": "B"}, headers=reception)
    ).json()
    page = await open_live(browser, server.url + mine["url"])
    queue_name = page.locator('[data-f="queue_name"]')
    await expect(queue_name).to_have_text("Leistungen")
    moved = await http.post(
        f"/api/v1/tickets/{mine['id']}/transfer", json={"queue": "A"}, headers=reception
    )
    assert moved.status_code == 200, moved.text
    await expect(queue_name).to_have_text("Eingangszone", timeout=TIMEOUT * 1000)
    cancelled = await http.post(f"/api/v1/tickets/{mine['id']}/cancel", headers=reception)
    assert cancelled.status_code == 200, cancelled.text
    await expect(page.locator('[data-f="status"]')).to_have_text(
        "Storniert", timeout=TIMEOUT * 1000
    )


async def test_the_ticket_page_offers_the_tap_that_lets_it_vibrate(
    browser: Browser, server: LiveServer, http: httpx.AsyncClient
) -> None:
    """A phone buzzes only for a page that was tapped: the page offers that tap, confirms
    it, and then buzzes when the ticket is called."""
    mine = (
        await http.post(
            "/api/v1/locations/sued/tickets", json={"queue": "A"}, headers=auth("terminal-sued")
        )
    ).json()
    context = await browser.new_context()
    await context.add_init_script(
        "window.__buzz = []; navigator.vibrate = (p) => { window.__buzz.push(p); return true; };"
    )
    page = await open_live(context, server.url + mine["url"])
    await page.get_by_role("button", name="Beim Aufruf vibrieren").click()
    said = page.get_by_text("Ihr Telefon vibriert, wenn Sie aufgerufen werden")
    await expect(said).to_be_visible()
    await expect(said).to_be_focused()  # focus is not lost with the button
    assert await page.evaluate("window.__buzz") == [200]
    await http.post("/api/v1/locations/sued/counters/1/open", headers=auth("counter-sued-1"))
    await http.post("/api/v1/locations/sued/counters/1/call-next", headers=auth("counter-sued-1"))
    await expect(page.locator('[data-f="go_to"]')).to_have_text(
        "Bitte zu Schalter 1", timeout=TIMEOUT * 1000
    )
    assert len(await page.evaluate("window.__buzz")) == 2
    await context.close()


async def test_the_vibrate_offer_ends_when_the_ticket_is_called(
    browser: Browser, server: LiveServer, http: httpx.AsyncClient
) -> None:
    """Untapped, the offer goes when the ticket is called (the person is on the way), and
    a called ticket's page, opened then, makes none."""
    mine = (
        await http.post(
            "/api/v1/locations/sued/tickets", json={"queue": "A"}, headers=auth("terminal-sued")
        )
    ).json()
    context = await browser.new_context()
    await context.add_init_script("navigator.vibrate = () => true;")
    page = await open_live(context, server.url + mine["url"])
    offer = page.get_by_role("button", name="Beim Aufruf vibrieren")
    await expect(offer).to_be_visible()
    await http.post("/api/v1/locations/sued/counters/1/open", headers=auth("counter-sued-1"))
    await http.post("/api/v1/locations/sued/counters/1/call-next", headers=auth("counter-sued-1"))
    await expect(page.locator('[data-f="go_to"]')).to_have_text(
        "Bitte zu Schalter 1", timeout=TIMEOUT * 1000
    )
    await expect(offer).to_be_hidden()
    later = await open_live(context, server.url + mine["url"])
    await expect(later.locator('[data-f="go_to"]')).to_have_text("Bitte zu Schalter 1")
    await expect(later.get_by_role("button", name="Beim Aufruf vibrieren")).to_be_hidden()
    await context.close()


#: The boxes of each header part's text (not of its grid cell): left, top, right, bottom,
#: and how many lines it takes.
HEADER_TEXT = """
() => Object.fromEntries(["h1", ".opening", "[data-f='occupancy-text']", ".clock"].map((s) => {
  const el = document.querySelector(".screen-head " + s);
  const range = document.createRange();
  range.selectNodeContents(el);
  const boxes = [...range.getClientRects()].filter((r) => r.width > 0);
  const top = Math.min(...boxes.map((r) => r.top));
  const bottom = Math.max(...boxes.map((r) => r.bottom));
  const font = parseFloat(getComputedStyle(el).fontSize);
  return [s, {
    left: Math.min(...boxes.map((r) => r.left)), right: Math.max(...boxes.map((r) => r.right)),
    top, bottom, lines: Math.max(1, Math.round((bottom - top) / (1.25 * font))),
  }];
}))
"""


@pytest.mark.parametrize("size", [(1920, 1080), (1280, 720)])
async def test_the_lobby_header_keeps_its_lines_when_occupancy_shows(
    browser: Browser, server: LiveServer, http: httpx.AsyncClient, size: tuple[int, int]
) -> None:
    """With the waiting area's count shown, the name and the opening hours stay on one
    line each, side by side, and the count gets a line of its own under them, clear of
    the clock; nothing runs off the monitor."""
    context = await browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = await open_live(context, server.url + "/screens/sued")
    r = await http.post(
        "/api/v1/locations/sued/occupancy",
        json={"zone": "wartebereich", "count": 8},
        headers=auth("sensor-sued"),
    )
    assert r.status_code in (200, 201, 202), r.text
    occupancy = page.locator(".screen-head [data-f='occupancy-text']")
    await expect(occupancy).to_have_text(
        "Wartebereich: 8 Personen (von 40 Plätzen)", timeout=TIMEOUT * 1000
    )
    text = await page.evaluate(HEADER_TEXT)
    name, opening = text["h1"], text[".opening"]
    count, clock = text["[data-f='occupancy-text']"], text[".clock"]
    assert name["lines"] == opening["lines"] == count["lines"] == 1, text
    assert name["right"] <= opening["left"] and opening["right"] <= clock["left"], text
    assert count["top"] >= name["bottom"] - 1 and count["right"] <= clock["left"], text
    assert await page.evaluate("document.documentElement.scrollWidth") <= size[0]
    await context.close()


SPY = """
window.__spoken = [];
window.__tones = 0;
window.speechSynthesis.speak = (u) => { window.__spoken.push([u.text, u.lang]); };
const osc = AudioContext.prototype.createOscillator;
AudioContext.prototype.createOscillator = function () {
  window.__tones += 1;
  return osc.call(this);
};
"""


async def test_lobby_chimes_and_speaks_in_german(
    browser: Browser, server: LiveServer, http: httpx.AsyncClient
) -> None:
    """With ?voice=1 a call chimes and is announced in German; a recall chimes again; the
    calls already there when the screen loads do not."""
    await http.post(
        "/api/v1/locations/sued/tickets", json={"queue": "A"}, headers=auth("terminal-sued")
    )
    await http.post("/api/v1/locations/sued/counters/1/open", headers=auth("counter-sued-1"))
    page = await browser.new_page()
    await page.add_init_script(SPY)
    await page.goto(server.url + "/screens/sued?voice=1")
    await expect(page.locator("body")).to_have_attribute(
        "data-live", "open", timeout=TIMEOUT * 1000
    )
    called = await http.post(
        "/api/v1/locations/sued/counters/1/call-next", headers=auth("counter-sued-1")
    )
    await expect(page.locator('[data-latest] [data-f="number"]')).to_have_text(
        "A001", timeout=TIMEOUT * 1000
    )
    assert await page.evaluate("window.__spoken") == [["Nummer A 1, bitte zu Schalter 1.", "de-DE"]]
    assert await page.evaluate("window.__tones") == 2  # a two-note chime
    await http.post(f"/api/v1/tickets/{called.json()['id']}/recall", headers=auth("counter-sued-1"))
    await expect(page.locator('[data-latest] [data-f="recall"]')).to_be_visible(
        timeout=TIMEOUT * 1000
    )
    assert await page.evaluate("window.__tones") == 4
    await page.reload()  # a restarted screen does not chime for old calls
    await page.wait_for_selector("body[data-live=open]")
    await page.wait_for_function("document.querySelector('[data-f=number]')")
    assert await page.evaluate("window.__tones") == 0
