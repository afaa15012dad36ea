"""Staff actions by clicking, the terminal on its own, opening hours, and what the public
pages do for phones and screen readers - in a real Chromium."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Dialog, Page, expect

from tests.browser import open_live
from tests.helpers import (
    MONDAY_8,
    TIMEOUT,
    LiveServer,
    SettableClock,
    auth,
    eventually,
    get_when,
    waiting,
)
from tests.test_browser_flows import log_in
from tests.test_pages_closed import opens_monday
from waitboard.i18n import Translator

pytestmark = pytest.mark.browser
MS = TIMEOUT * 1000
T = Translator("de")


def accept_dialogs(page: Page) -> list[str]:
    """Confirm every question the page asks; the questions, in order."""
    asked: list[str] = []

    async def accept(dialog: Dialog) -> None:
        asked.append(dialog.message)
        await dialog.accept()

    page.on("dialog", accept)
    return asked


async def issue(http: httpx.AsyncClient, queue: str) -> dict[str, Any]:
    r = await http.post(
        "/api/v1/locations/sued/tickets", json={"queue": queue}, headers=auth("reception-sued")
    )
    assert r.status_code == 201, r.text
    ticket: dict[str, Any] = r.json()
    return ticket


async def at_counter(http: httpx.AsyncClient, counter: str) -> dict[str, Any]:
    """Open a counter and call the next ticket to it (set-up, through the API)."""
    device = f"counter-sued-{counter}"
    await http.post(f"/api/v1/locations/sued/counters/{counter}/open", headers=auth(device))
    r = await http.post(
        f"/api/v1/locations/sued/counters/{counter}/call-next", headers=auth(device)
    )
    assert r.status_code == 200, r.text
    called: dict[str, Any] = r.json()
    return called


async def status_of(http: httpx.AsyncClient, ticket: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = (await http.get(f"/api/v1/tickets/{ticket['id']}")).json()
    return found


# --- reception ------------------------------------------------------------------------------


async def test_reception_cancels_a_waiting_ticket_by_clicking(
    browser: Browser, server: LiveServer, http: httpx.AsyncClient
) -> None:
    """Stornieren asks first, then takes the ticket off the list and the queue's count."""
    first = await issue(http, "A")
    await issue(http, "A")
    page = await log_in(browser, server, "reception-sued")
    asked = accept_dialogs(page)
    count_a = page.locator('[data-queue="A"] .count')
    await expect(count_a).to_have_text("2")
    await page.get_by_role("button", name="Stornieren A001").click()
    await expect(page.locator('[data-ticket="A001"]')).to_have_count(0, timeout=MS)
    await expect(count_a).to_have_text("1")
    await expect(page.locator('[data-queue="A"] [data-ticket="A002"]')).to_be_visible()
    assert asked == [T("Ticket {number} stornieren?", number="A001")]
    assert (await status_of(http, first))["status"] == "cancelled"


async def test_reception_transfers_a_waiting_ticket_by_clicking(
    browser: Browser, server: LiveServer, http: httpx.AsyncClient
) -> None:
    """Weiterleiten moves a ticket to the chosen queue: both lists and counts follow, and so
    does the public location page."""
    ticket = await issue(http, "A")
    public = await open_live(browser, server.url + "/locations/sued")
    page = await log_in(browser, server, "reception-sued")
    await page.get_by_label("Weiterleiten nach (A001)").select_option(label="Leistungen")
    await page.get_by_role("button", name="Weiterleiten A001").click()
    await expect(page.locator('[data-queue="B"] [data-ticket="A001"]')).to_be_visible(timeout=MS)
    await expect(page.locator('[data-queue="A"] [data-ticket]')).to_have_count(0)
    await expect(page.locator('[data-queue="A"] .count')).to_have_text("0")
    await expect(page.locator('[data-queue="B"] .count')).to_have_text("1")
    await expect(public.locator('tr[data-queue="B"] [data-f="waiting"]')).to_have_text(
        "1", timeout=MS
    )
    await expect(public.locator('tr[data-queue="A"] [data-f="waiting"]')).to_have_text("0")
    moved = await status_of(http, ticket)
    assert (moved["queue"], moved["status"]) == ("B", "waiting")


# --- counter --------------------------------------------------------------------------------


async def test_counter_recall_shows_on_the_lobby(
    browser: Browser, server: LiveServer, http: httpx.AsyncClient
) -> None:
    """Erneut aufrufen: the lobby shows the number again, marked as a recall."""
    await issue(http, "A")
    await at_counter(http, "1")
    lobby = await open_live(browser, server.url + "/screens/sued")
    counter = await log_in(browser, server, "counter-sued-1")
    latest = lobby.locator("[data-latest]")
    await expect(latest.locator('[data-f="number"]')).to_have_text("A001", timeout=MS)
    await expect(latest.locator('[data-f="recall"]')).to_be_hidden()
    await counter.get_by_role("button", name="Erneut aufrufen").click()
    await expect(latest.locator('[data-f="recall"]')).to_have_text(T("erneuter Aufruf"), timeout=MS)
    await expect(latest.locator('[data-f="number"]')).to_have_text("A001")
    await expect(counter.locator(".current-ticket .status-pill")).to_have_text(T("aufgerufen"))


async def test_counter_no_show_frees_the_counter(
    browser: Browser, server: LiveServer, http: httpx.AsyncClient
) -> None:
    """Nicht erschienen asks first, ends the ticket as no-show and frees the counter."""
    await issue(http, "A")
    await issue(http, "A")
    called = await at_counter(http, "1")
    counter = await log_in(browser, server, "counter-sued-1")
    asked = accept_dialogs(counter)
    await expect(counter.locator(".current-ticket .ticket-number")).to_have_text("A001")
    await counter.get_by_role("button", name="Nicht erschienen", exact=True).click()
    await expect(counter.get_by_text(T("Kein Ticket am Schalter."))).to_be_visible()
    assert asked == [T("{number} als nicht erschienen markieren?", number="A001")]
    assert (await status_of(http, called))["status"] == "no_show"
    await counter.get_by_role("button", name="Nächste Nummer aufrufen").click()
    await expect(counter.locator(".current-ticket .ticket-number")).to_have_text("A002")


async def test_counter_transfers_its_ticket_to_another_queue(
    browser: Browser, server: LiveServer, http: httpx.AsyncClient
) -> None:
    """The counter offers only the other queues; Weiterleiten sends the ticket there to wait
    and frees the counter."""
    await issue(http, "B")
    called = await at_counter(http, "2")
    counter = await log_in(browser, server, "counter-sued-2")
    await expect(counter.locator(".current-ticket .ticket-number")).to_have_text("B001")
    target = counter.get_by_label(T("Weiterleiten nach"), exact=True)
    await expect(target.locator("option")).to_have_text(["Eingangszone"])
    await target.select_option(label="Eingangszone")
    await counter.get_by_role("button", name=T("Weiterleiten"), exact=True).click()
    await expect(counter.get_by_text(T("Kein Ticket am Schalter."))).to_be_visible()
    moved = await status_of(http, called)
    assert (moved["queue"], moved["status"]) == ("A", "waiting")
    await get_when(
        http,
        "/api/v1/locations/sued",
        lambda r: waiting(r.json()) == {"A": 1, "B": 0},
        "the ticket waiting in A",
    )


async def test_counter_closes_by_clicking(
    browser: Browser, server: LiveServer, http: httpx.AsyncClient
) -> None:
    """Schließen closes the counter: its page offers Öffnen again and the lobby shows its
    queue closed."""
    lobby = await open_live(browser, server.url + "/screens/sued")
    tile = lobby.locator('.queue-tile[data-queue="A"]')
    counter = await log_in(browser, server, "counter-sued-1")
    await counter.get_by_role("button", name="Öffnen").click()
    await expect(counter.locator(".counter-head .opening")).to_have_text(
        T.pgettext("staff.counter_open", "Schalter geöffnet")
    )
    await expect(tile).to_have_attribute("data-state", "open", timeout=MS)
    await counter.get_by_role("button", name="Schließen").click()
    await expect(counter.locator(".counter-head .opening")).to_have_text(T("Schalter geschlossen"))
    await expect(counter.get_by_role("button", name="Öffnen")).to_be_visible()
    await expect(counter.get_by_role("button", name="Nächste Nummer aufrufen")).to_have_count(0)
    await expect(tile).to_have_attribute("data-state", "closed", timeout=MS)
    await expect(tile.locator('[data-f="state"]')).to_have_text(T("Kein Schalter geöffnet"))
    state = (await http.get("/api/v1/locations/sued")).json()
    assert not next(c for c in state["counters"] if c["id"] == "1")["open"]


# --- terminal -------------------------------------------------------------------------------


async def test_terminal_ticket_returns_to_the_start_by_itself(
    browser: Browser, server: LiveServer
) -> None:
    """After a ticket the terminal counts down and goes back to the start by itself, leaving
    no way back to the ticket. The kiosk's clock is run forward instead of waiting 30 s."""
    page = await log_in(browser, server, "terminal-sued")
    await page.clock.install()
    await page.reload()
    await page.locator('[data-issue="A"]').click()
    await expect(page.locator(".terminal-done .ticket-number")).to_have_text("A001")
    countdown = page.locator("[data-countdown]")
    await expect(countdown).to_have_text(T("Zurück zum Start in {n} Sekunden.", n=30))
    await page.clock.run_for(20_000)
    await expect(countdown).to_have_text(T("Zurück zum Start in {n} Sekunden.", n=10))
    await page.clock.run_for(10_000)
    await expect(
        page.get_by_role("heading", name=T("Bitte wählen Sie Ihr Anliegen"))
    ).to_be_visible(timeout=MS)
    assert page.url == server.url + "/terminal/sued"
    await page.go_back()
    assert "/tickets/" not in page.url


async def test_closed_location_on_terminal_and_lobby_until_it_opens(
    browser: Browser, closed_server: LiveServer, clock: SettableClock
) -> None:
    """Closed: the terminal shows each service as closed, not as a button, and the lobby
    says when it opens; at opening time both follow by themselves."""
    terminal = await log_in(browser, closed_server, "terminal-sued")
    await terminal.wait_for_selector("body[data-live=open]")
    await expect(terminal.locator(".closed-notice")).to_have_text(
        T("Geschlossen – {when}", when=opens_monday())
    )
    await expect(terminal.locator(".terminal-buttons").get_by_role("button")).to_have_count(0)
    await expect(terminal.locator('[data-issue="A"]')).to_contain_text(
        T.pgettext("queue.closed", "geschlossen")
    )
    lobby = await open_live(browser, closed_server.url + "/screens/sued")
    opening = lobby.locator('[data-f="opening"]')
    await expect(opening).to_have_text(opens_monday())
    await expect(opening).to_have_class("opening is-closed")

    clock.now = MONDAY_8
    async with httpx.AsyncClient(base_url=closed_server.url, timeout=TIMEOUT) as http:
        await issue(http, "B")  # a change: the hub re-reads, now by Monday's clock
    await expect(terminal.get_by_role("button", name="Eingangszone")).to_be_enabled(timeout=MS)
    await expect(terminal.locator(".closed-notice")).to_have_count(0)
    await expect(opening).to_have_text(T("geöffnet bis {time} Uhr", time="16:00"), timeout=MS)
    await expect(opening).to_have_class("opening is-open")


# --- phones, the lobby clock and screen readers ---------------------------------------------

VIBRATE_SPY = """
window.__buzz = [];
Object.defineProperty(Navigator.prototype, "vibrate", {
  configurable: true, value(pattern) { window.__buzz.push(pattern); return true; }});
"""
NO_VIBRATE = "delete Navigator.prototype.vibrate;"


async def test_ticket_page_vibrates_on_each_call_where_supported(
    browser: Browser, server: LiveServer, http: httpx.AsyncClient
) -> None:
    """The phone buzzes when its ticket is called and again on a recall, not while waiting
    or being served; a phone without vibration shows the call all the same."""
    mine = await issue(http, "A")
    phone = await browser.new_page()
    await phone.add_init_script(VIBRATE_SPY)
    await phone.goto(server.url + mine["url"])
    await phone.wait_for_selector("body[data-live=open]")
    plain = await browser.new_page()
    errors: list[str] = []
    plain.on("pageerror", lambda e: errors.append(str(e)))
    await plain.add_init_script(NO_VIBRATE)
    await plain.goto(server.url + mine["url"])
    await plain.wait_for_selector("body[data-live=open]")

    called = await at_counter(http, "1")
    go_to = T("Bitte zu {counter}", counter="Schalter 1")
    await expect(phone.locator('[data-f="go_to"]')).to_have_text(go_to, timeout=MS)
    await expect(plain.locator('[data-f="go_to"]')).to_have_text(go_to, timeout=MS)
    await eventually(lambda: phone.evaluate("window.__buzz.length === 1"), "a buzz")
    assert await phone.evaluate("window.__buzz") == [[400, 200, 400, 200, 400]]
    await http.post(f"/api/v1/tickets/{called['id']}/recall", headers=auth("counter-sued-1"))
    await eventually(lambda: phone.evaluate("window.__buzz.length === 2"), "a buzz on recall")
    await http.post(f"/api/v1/tickets/{called['id']}/start", headers=auth("counter-sued-1"))
    await expect(phone.locator('[data-f="status"]')).to_have_text(
        T("Sie werden bedient"), timeout=MS
    )
    assert await phone.evaluate("window.__buzz.length") == 2
    assert not errors, errors


async def test_lobby_clock_shows_office_time_and_runs(browser: Browser, server: LiveServer) -> None:
    """The lobby's clock shows Berlin time even on a PC set to UTC, and moves on."""
    context = await browser.new_context(timezone_id="UTC")
    page = await context.new_page()
    await page.clock.set_fixed_time(datetime(2026, 11, 25, 9, 41, tzinfo=UTC))
    await page.goto(server.url + "/screens/sued")
    clock = page.locator("[data-clock]")
    await expect(clock).to_be_visible()
    await expect(clock).to_have_text("10:41", timeout=MS)  # 09:41 UTC = 10:41 in Berlin
    await page.clock.set_fixed_time(datetime(2026, 11, 25, 9, 42, tzinfo=UTC))
    await expect(clock).to_have_text("10:42", timeout=MS)


ANNOUNCE_SPY = """() => {
  window.__said = [];
  const box = document.querySelector("[data-announce]");
  new MutationObserver(() => window.__said.push(box.textContent))
    .observe(box, { childList: true, characterData: true, subtree: true });
}"""


async def test_public_pages_announce_a_burst_once_with_the_latest_state(
    browser: Browser, server: LiveServer, http: httpx.AsyncClient
) -> None:
    """The public pages have a polite live region; a burst of changes is announced once,
    with the state after the last one."""
    overview = await open_live(browser, server.url + "/")
    await expect(overview.locator("[data-announce]")).to_have_attribute("role", "status")
    page = await open_live(browser, server.url + "/locations/sued")
    region = page.locator("[data-announce]")
    await expect(region).to_have_attribute("role", "status")
    await page.evaluate(ANNOUNCE_SPY)
    await issue(http, "A")  # the page takes in changes: what it said so far is known
    await expect(page.locator('tr[data-queue="A"] [data-f="waiting"]')).to_have_text(
        "1", timeout=MS
    )
    await asyncio.gather(*(issue(http, q) for q in "AABB"))
    final = await get_when(
        http, "/api/v1/locations/sued", lambda r: waiting(r.json()) == {"A": 3, "B": 2}, "the burst"
    )
    expected = " ".join(
        T(
            "{name} – Wartende {waiting}, Wartezeit {wait}.",
            name=T.name(q),
            waiting=q["waiting"],
            wait=T.wait(q["estimated_wait_s"]),
        ).replace("..", ".")  # (a wait such as "ca. 12 Min." ends the sentence)
        for q in final.json()["queues"]
    )
    await eventually(lambda: page.evaluate("window.__said.length > 0"), "an announcement")
    assert await page.evaluate("window.__said") == [expected]
    await expect(region).to_have_text(expected)
