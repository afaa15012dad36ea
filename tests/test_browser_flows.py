"""Whole flows in Chromium: staff by clicking, the terminal, pages without JavaScript, and a
lobby screen that survives a server restart."""

from __future__ import annotations

import io

import httpx
import pytest
import zxingcpp
from PIL import Image
from playwright.async_api import Browser, Page, expect
from redis.asyncio import Redis

from tests.browser import open_live, screenshot
from tests.helpers import (
    TIMEOUT,
    LiveServer,
    auth,
    free_port,
    get_when,
    live_server,
    token,
    waiting,
)
from tests.test_api import issue
from waitboard.core.office import Office
from waitboard.store.embedded import EmbeddedRedis

pytestmark = pytest.mark.browser
MS = TIMEOUT * 1000


async def log_in(browser: Browser, server: LiveServer, device: str, **context_args: object) -> Page:
    context = await browser.new_context(**context_args)  # type: ignore[arg-type]
    page = await context.new_page()
    await page.goto(server.url + "/staff/login")
    await page.get_by_label("Gerätetoken").fill(token(device))
    await page.get_by_role("button", name="Anmelden").click()
    await page.wait_for_load_state()
    return page


async def test_reception_issues_counter_calls_and_completes_lobby_shows_it(
    browser: Browser, server: LiveServer
) -> None:
    """Login, issue at reception, call and complete at a counter - all by clicking - with
    the lobby showing the call; screenshots of both staff pages."""
    lobby = await open_live(
        browser, server.url + "/screens/sued", viewport={"width": 1920, "height": 1080}
    )

    reception = await log_in(
        browser, server, "reception-sued", viewport={"width": 1280, "height": 900}
    )
    await expect(reception.get_by_role("heading", name="Empfang", exact=True)).to_be_visible()
    await reception.locator('[data-issue="B"]').click()
    printed = reception.locator('[data-f="printed-ticket"] .p-number')
    await expect(printed).to_have_text("B001")
    qr = zxingcpp.read_barcodes(
        Image.open(io.BytesIO(await reception.locator("svg.qr").screenshot()))
    )
    ticket_url = qr[0].text
    assert ticket_url.startswith(server.url + "/tickets/t_sued_")
    async with httpx.AsyncClient() as http:  # the code leads to the citizen's ticket page
        assert "B001" in (await http.get(ticket_url)).text
    await reception.get_by_role("link", name="Zurück").click()
    await expect(reception.locator('[data-queue="B"] [data-ticket="B001"]')).to_be_visible(
        timeout=MS
    )
    await screenshot(reception, "reception", full_page=True)

    counter = await log_in(
        browser, server, "counter-sued-2", viewport={"width": 1280, "height": 800}
    )
    await counter.get_by_role("button", name="Öffnen").click()
    await counter.get_by_role("button", name="Nächste Nummer aufrufen").click()
    await expect(counter.locator(".current-ticket .ticket-number")).to_have_text("B001")
    await expect(lobby.locator('[data-latest] [data-f="number"]')).to_have_text("B001", timeout=MS)
    await expect(lobby.locator('[data-latest] [data-f="counter"]')).to_have_text("Schalter 2")
    await screenshot(counter, "counter", full_page=True)

    await counter.get_by_role("button", name="Bedienung beginnen").click()
    await expect(counter.locator(".status-pill")).to_have_text("in Bearbeitung")
    await counter.keyboard.press("e")  # the shortcut for "Abschließen"
    await expect(counter.get_by_text("Kein Ticket am Schalter.")).to_be_visible()
    # The reception sees B001 gone from the waiting list and Schalter 2 free, live.
    await expect(reception.locator('[data-ticket="B001"]')).to_have_count(0, timeout=MS)


async def test_a_post_without_csrf_token_is_refused(browser: Browser, server: LiveServer) -> None:
    """A form post from the logged-in browser without the CSRF token: 403."""
    page = await log_in(browser, server, "reception-sued")
    response = await page.request.post(
        server.url + "/staff/sued/reception/tickets",
        form={"queue": "A"},
        headers={"Accept": "text/html"},
    )
    assert response.status == 403


async def test_terminal_issues_and_returns_to_the_start(
    browser: Browser, server: LiveServer, http: httpx.AsyncClient
) -> None:
    """A press on the touchscreen gives a ticket to print; ticket stop is shown as such."""
    for _ in range(3):  # queue B has max_waiting = 3
        await http.post(
            "/api/v1/locations/sued/tickets", json={"queue": "B"}, headers=auth("reception-sued")
        )
    await get_when(
        http,
        "/api/v1/locations/sued",
        lambda r: waiting(r.json())["B"] == 3,
        "B at its ticket stop",
    )
    page = await log_in(browser, server, "terminal-sued", viewport={"width": 1080, "height": 1400})
    await expect(page.locator('[data-issue="B"]')).to_be_disabled()
    await expect(page.get_by_text("Ausgabestopp – bitte wenden Sie sich")).to_be_visible()
    await screenshot(page, "terminal")
    await page.locator('[data-issue="A"]').click()
    await expect(page.locator(".terminal-done .ticket-number")).to_have_text("A001")
    await page.get_by_role("link", name="Fertig").click()
    await expect(page.get_by_role("heading", name="Bitte wählen Sie Ihr Anliegen")).to_be_visible()


async def test_pages_show_current_numbers_without_javascript(
    browser: Browser, server: LiveServer, http: httpx.AsyncClient
) -> None:
    """With JavaScript off, /, /locations/X and /tickets/T show the current numbers."""
    ticket = (
        await http.post(
            "/api/v1/locations/sued/tickets", json={"queue": "B"}, headers=auth("reception-sued")
        )
    ).json()
    await get_when(
        http,
        "/api/v1/locations/sued",
        lambda r: waiting(r.json())["B"] == 1,
        "the ticket in the live view",
    )
    context = await browser.new_context(java_script_enabled=False)
    page = await context.new_page()
    for path in ("/", "/locations/sued"):
        await page.goto(server.url + path)
        cell = page.locator('[data-location="sued"] tr[data-queue="B"] [data-f="waiting"]')
        await expect(cell).to_have_text("1")
    await page.goto(server.url + ticket["url"])
    await expect(page.locator(".ticket-number")).to_have_text(ticket["number"])
    await expect(page.locator('[data-f="status"]')).to_have_text("Sie warten")
    await expect(page.locator('[data-f="ahead"]')).to_have_text("0")


async def test_lobby_shows_stale_banner_and_recovers_after_restart(
    browser: Browser, redis_server: EmbeddedRedis, redis: Redis, office: Office
) -> None:
    """Server stopped: the stale banner appears; started again: it goes away and the screen
    shows the current state - nobody touches the screen."""
    port = free_port()
    async with live_server(redis_server.url, office, port=port) as srv:
        lobby = await open_live(
            browser, srv.url + "/screens/sued", viewport={"width": 1920, "height": 1080}
        )
    stale = lobby.locator("[data-stale]")
    await expect(stale).to_be_visible(timeout=3 * MS)  # live data older than 15 s
    await expect(stale).to_contain_text("Verbindung unterbrochen – Stand")
    async with (
        live_server(redis_server.url, office, port=port) as srv,
        httpx.AsyncClient(base_url=srv.url, timeout=TIMEOUT) as http,
    ):
        await http.post(
            "/api/v1/locations/sued/tickets", json={"queue": "A"}, headers=auth("terminal-sued")
        )
        await http.post("/api/v1/locations/sued/counters/1/open", headers=auth("counter-sued-1"))
        await http.post(
            "/api/v1/locations/sued/counters/1/call-next", headers=auth("counter-sued-1")
        )
        await expect(stale).to_be_hidden(timeout=3 * MS)
        await expect(lobby.locator('[data-latest] [data-f="number"]')).to_have_text(
            "A001", timeout=MS
        )


async def test_lobby_lists_the_last_calls_newest_first(
    browser: Browser, server: LiveServer, http: httpx.AsyncClient
) -> None:
    """The newest call is large; the six before it are listed, newest first, as many of
    them as fit whole."""
    await http.post("/api/v1/locations/sued/counters/1/open", headers=auth("counter-sued-1"))
    await http.post("/api/v1/locations/sued/counters/2/open", headers=auth("counter-sued-2"))
    for queue in "AABABABBA":
        await http.post(
            "/api/v1/locations/sued/tickets", json={"queue": queue}, headers=auth("reception-sued")
        )
    lobby = await open_live(
        browser, server.url + "/screens/sued", viewport={"width": 1920, "height": 1080}
    )
    numbers = []
    for i in range(8):
        counter = "1" if i % 2 else "2"
        device = f"counter-sued-{counter}"
        called = await http.post(
            f"/api/v1/locations/sued/counters/{counter}/call-next", headers=auth(device)
        )
        numbers.append(called.json()["number"])
        await http.post(f"/api/v1/tickets/{called.json()['id']}/start", headers=auth(device))
        await http.post(f"/api/v1/tickets/{called.json()['id']}/complete", headers=auth(device))
    await expect(lobby.locator('[data-latest] [data-f="number"]')).to_have_text(
        numbers[-1], timeout=MS
    )
    recent = lobby.locator('[data-list="calls"] .number')
    await expect(recent).to_have_text(list(reversed(numbers[1:-1])), timeout=MS)
    await lobby.evaluate("document.querySelector('[data-latest]').classList.remove('flash')")
    await screenshot(lobby, "lobby")
    # On a smaller or squarer screen the list keeps as many whole rows as fit, never a
    # row cut in half (a TV cannot be scrolled).
    for width, height in ((1920, 1080), (1280, 1024), (1200, 1080), (1366, 768)):
        await lobby.set_viewport_size({"width": width, "height": height})
        cut = await lobby.evaluate(CUT_ROWS)
        assert cut["shown"] >= 2 and cut["cut"] == [], (width, height, cut)


#: The recent calls (and their heading) that the list's box shows only in part, and how
#: many it shows whole.
CUT_ROWS = """
() => {
  const box = document.querySelector(".screen .recent").getBoundingClientRect();
  const parts = document.querySelectorAll('.screen .recent h2, [data-list="calls"] li');
  const rows = [...parts].map((li) => {
    const r = li.getBoundingClientRect();
    const inside = r.top >= box.top - 1 && r.bottom <= box.bottom + 1
      && r.left >= box.left - 1 && r.right <= box.right + 1;
    const outside = r.height === 0 || r.bottom <= box.top || r.top >= box.bottom
      || r.right <= box.left || r.left >= box.right;
    return { text: li.textContent.trim(), inside, outside };
  });
  return { shown: rows.filter((r) => r.inside).length,
           cut: rows.filter((r) => !r.inside && !r.outside).map((r) => r.text) };
}
"""


async def test_live_refresh_keeps_keyboard_focus(
    browser: Browser, server: LiveServer, http: httpx.AsyncClient
) -> None:
    """A change elsewhere refreshes the reception's lists; the focused button keeps focus."""
    await http.post(
        "/api/v1/locations/sued/tickets", json={"queue": "B"}, headers=auth("reception-sued")
    )
    page = await log_in(browser, server, "reception-sued")
    await page.wait_for_selector("body[data-live=open]")
    cancel = page.locator('[data-ticket="B001"] button.danger')
    await cancel.focus()
    await http.post(
        "/api/v1/locations/sued/tickets", json={"queue": "A"}, headers=auth("terminal-sued")
    )
    await expect(page.locator('[data-queue="A"] [data-ticket="A001"]')).to_be_visible(timeout=MS)
    assert (
        await page.evaluate("document.activeElement.closest('[data-ticket]')?.dataset.ticket")
        == "B001"
    )


async def test_counter_shortcuts_can_be_switched_off(
    browser: Browser, server: LiveServer, http: httpx.AsyncClient
) -> None:
    """With the shortcuts off, N calls nobody; switched on, it calls the next."""
    await http.post(
        "/api/v1/locations/sued/tickets", json={"queue": "A"}, headers=auth("reception-sued")
    )
    page = await log_in(browser, server, "counter-sued-1")
    await page.get_by_role("button", name="Öffnen").click()
    await page.get_by_label("Tastenkürzel verwenden").uncheck()
    await page.locator("body").press("n")
    await expect(page.get_by_text("Kein Ticket am Schalter.")).to_be_visible()
    await page.get_by_label("Tastenkürzel verwenden").check()
    await page.locator("h1").click()  # focus away from the checkbox
    await page.keyboard.press("n")
    await expect(page.locator(".current-ticket .ticket-number")).to_have_text("A001")


async def test_the_overview_keeps_showing_a_ticket_stop_as_it_updates(
    browser: Browser, server: LiveServer, http: httpx.AsyncClient
) -> None:
    """The public overview says "Ausgabestopp" for a queue at its stop also after live
    updates of other queues, and stops saying it, live, once the stop ends."""
    ids = [(await issue(http, "B")).json()["id"] for _ in range(3)]
    page = await browser.new_page(viewport={"width": 360, "height": 740})
    await page.goto(server.url + "/")
    await page.wait_for_selector("body[data-live=open]")
    card = page.locator('[data-location="sued"]')
    stop = card.locator('[data-queue="B"] [data-f="stop"]')
    await expect(stop).to_have_text("Ausgabestopp")
    await issue(http, "A")
    await expect(card.locator('[data-queue="A"] [data-f="waiting"]')).to_have_text("1")
    await expect(stop).to_be_visible()
    await http.post(f"/api/v1/tickets/{ids[0]}/cancel", headers=auth("reception-sued"))
    await expect(card.locator('[data-queue="B"] [data-f="waiting"]')).to_have_text("2")
    await expect(stop).to_be_hidden()
    await page.close()


async def test_terminal_button_comes_back_when_the_ticket_stop_ends(
    browser: Browser, server: LiveServer, http: httpx.AsyncClient
) -> None:
    """A terminal left open shows a queue's button again once it may issue again."""
    ids = [
        (
            await http.post(
                "/api/v1/locations/sued/tickets",
                json={"queue": "B"},
                headers=auth("reception-sued"),
            )
        ).json()["id"]
        for _ in range(3)
    ]
    await get_when(
        http,
        "/api/v1/locations/sued",
        lambda r: waiting(r.json())["B"] == 3,
        "B at its ticket stop",
    )
    page = await log_in(browser, server, "terminal-sued")
    await page.wait_for_selector("body[data-live=open]")
    await expect(page.locator('[data-issue="B"]')).to_be_disabled()
    await http.post(f"/api/v1/tickets/{ids[0]}/cancel", headers=auth("reception-sued"))
    await expect(page.locator('[data-issue="B"]')).to_be_enabled(timeout=MS)
