"""The self-service terminal in Chromium, as a person meets it: a press that issued a ticket
always ends on that ticket's screen (whatever the live updates do meanwhile), a press that
issued none says so, the ticket screen carries everything the slip does, and the check-in
has a keypad and fits a kiosk's screen.

The races are made deterministic by holding the press's request (or its answer) with
Playwright's ``page.route`` until the page has been told of the other change over its
WebSocket, and one frame more (so that it has had its turn to react)."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import httpx
import orjson
import pytest
import zxingcpp
from PIL import Image
from playwright.async_api import Browser, Error, Page, Route, WebSocket, expect
from redis.asyncio import Redis

from tests.helpers import (
    APPOINTMENT_PLAN,
    MONDAY_8,
    TIMEOUT,
    WEEKDAYS,
    LiveServer,
    SettableClock,
    auth,
    eventually,
    get_when,
    live_server,
    office_with_hours,
    office_with_sued,
    serve_queues,
    waiting,
)
from tests.test_browser_flows import log_in
from waitboard.core.office import Office
from waitboard.i18n import Translator
from waitboard.store.embedded import EmbeddedRedis

pytestmark = pytest.mark.browser
MS = TIMEOUT * 1000
T = Translator("de")
PRESS = "**/terminal/sued/tickets*"


class Frames:
    """What a page was told over its WebSockets (every connection it opens)."""

    def __init__(self, page: Page) -> None:
        self.messages: list[dict[str, Any]] = []
        page.on("websocket", self._opened)

    def _opened(self, ws: WebSocket) -> None:
        ws.on("framereceived", lambda payload: self.messages.append(orjson.loads(payload)))

    async def told(self, predicate: Callable[[dict[str, Any]], bool], what: str) -> None:
        """Until a message satisfies ``predicate`` and one more has arrived after it."""
        await eventually(lambda: any(predicate(m) for m in self.messages), what)
        seen = len(self.messages)
        await eventually(lambda: len(self.messages) > seen, f"a frame after {what}")


def stop_in(queue: str) -> Callable[[dict[str, Any]], bool]:
    return lambda m: (
        m.get("type") == "snapshot"
        and any(q["id"] == queue and q["ticket_stop"] for q in m["queues"])
    )


class Held:
    """The terminal's press, held by the test: before it reaches the server (``request``)
    or after the server answered (``answer``), until ``release``."""

    def __init__(self) -> None:
        self.arrived = asyncio.Event()
        self.answered = asyncio.Event()
        self.released = asyncio.Event()
        self.errors: list[str] = []

    def release(self) -> None:
        self.released.set()


async def hold(page: Page, where: str) -> Held:
    held = Held()

    async def handle(route: Route) -> None:
        if route.request.method != "POST":
            await route.continue_()
            return
        held.arrived.set()
        try:
            if where == "request":
                await held.released.wait()
            response = await route.fetch(max_redirects=0)
            held.answered.set()
            if where == "answer":
                await held.released.wait()
            await route.fulfill(response=response)
        except Error as e:  # the page gave up on the request (it navigated away)
            held.errors.append(str(e))

    await page.route(PRESS, handle)
    return held


async def reception_issues(http: httpx.AsyncClient, queue: str) -> dict[str, Any]:
    r = await http.post(
        "/api/v1/locations/sued/tickets", json={"queue": queue}, headers=auth("reception-sued")
    )
    assert r.status_code == 201, r.text
    answer: dict[str, Any] = r.json()
    return answer


async def terminal(browser: Browser, server: LiveServer, **context: Any) -> tuple[Page, Frames]:
    page = await log_in(browser, server, "terminal-sued", **context)
    frames = Frames(page)
    await page.reload()
    await page.wait_for_selector("body[data-live=open]")
    return page, frames


async def press_while_reception_fills_b(
    browser: Browser, server: LiveServer, http: httpx.AsyncClient, queue: str
) -> tuple[Page, Held]:
    """A press on ``queue`` held before the server while reception issues B's third ticket
    (its stop), let go once the terminal has been told of the stop."""
    for _ in range(2):
        await reception_issues(http, "B")
    page, frames = await terminal(browser, server)
    held = await hold(page, "request")
    await page.locator(f'[data-issue="{queue}"]').click()
    await asyncio.wait_for(held.arrived.wait(), TIMEOUT)
    await reception_issues(http, "B")  # the third: ticket stop
    await frames.told(stop_in("B"), "the ticket stop in B")
    held.release()
    return page, held


async def test_the_press_that_fills_the_queue_ends_on_its_ticket(
    browser: Browser, server: LiveServer, http: httpx.AsyncClient
) -> None:
    """The press that brings a queue to its ticket stop shows its ticket, although the
    stop reaches the page before the answer does."""
    for _ in range(2):  # queue B takes at most 3
        await reception_issues(http, "B")
    page, frames = await terminal(browser, server)
    held = await hold(page, "answer")
    await page.locator('[data-issue="B"]').click()
    await asyncio.wait_for(held.answered.wait(), TIMEOUT)
    await frames.told(stop_in("B"), "the ticket stop in B")
    held.release()
    await expect(page.locator(".terminal-done .ticket-number")).to_have_text("B003", timeout=MS)
    await expect(page.locator('[data-f="printed-ticket"] .p-number')).to_have_text("B003")
    state = (await http.get("/api/v1/locations/sued")).json()
    assert waiting(state)["B"] == 3


async def test_another_device_filling_a_queue_does_not_swallow_a_press(
    browser: Browser, server: LiveServer, http: httpx.AsyncClient
) -> None:
    """While a press on A is on its way, reception fills B to its stop: the page is told,
    and still the press issues its ticket and shows it."""
    page, held = await press_while_reception_fills_b(browser, server, http, "A")
    await expect(page.locator(".terminal-done .ticket-number")).to_have_text("A001", timeout=MS)
    assert held.errors == []
    state = (await http.get("/api/v1/locations/sued")).json()
    assert waiting(state) == {"A": 1, "B": 3}


async def test_a_press_into_a_stop_says_that_no_ticket_came(
    browser: Browser, server: LiveServer, http: httpx.AsyncClient
) -> None:
    """A press on B that reaches the server after another device filled B: no ticket, and
    the screen says why, with B shown as stopped; nothing is left half done."""
    page, _ = await press_while_reception_fills_b(browser, server, http, "B")
    message = page.locator("[data-message]")
    await expect(message).to_have_text(
        T("Ausgabestopp: In dieser Warteschlange warten zu viele Personen."), timeout=MS
    )
    await expect(page.locator('[data-issue="B"]')).to_be_disabled()
    await expect(page.locator('[data-issue="A"]')).to_be_enabled()
    assert waiting((await http.get("/api/v1/locations/sued")).json())["B"] == 3
    # The screen with the message is a start screen like any: the next press works.
    await page.locator('[data-issue="A"]').click()
    await expect(page.locator(".terminal-done .ticket-number")).to_have_text("A001")


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock(MONDAY_8 + timedelta(hours=7, minutes=58))  # Monday 15:58 in Berlin


@pytest.fixture
async def weekday_server(
    redis_server: EmbeddedRedis, redis: Redis, clock: SettableClock
) -> AsyncIterator[LiveServer]:
    """Süd open on weekdays until 16:00, on a clock the test sets."""
    async with live_server(redis_server.url, office_with_hours(WEEKDAYS), clock=clock) as srv:
        yield srv


async def test_closing_time_during_a_press(
    browser: Browser, weekday_server: LiveServer, clock: SettableClock
) -> None:
    """A press that arrives after 16:00 issues nothing and the screen says so; a press
    issued just before 16:00 keeps its ticket screen when the closing reaches the page."""
    before, after = (MONDAY_8 + timedelta(hours=7, minutes=m) for m in (58, 61))
    async with httpx.AsyncClient(base_url=weekday_server.url, timeout=TIMEOUT) as http:
        page, _ = await terminal(browser, weekday_server)
        held = await hold(page, "request")
        await page.locator('[data-issue="A"]').click()
        await asyncio.wait_for(held.arrived.wait(), TIMEOUT)
        clock.now = after
        held.release()
        await expect(page.locator("[data-message]")).to_have_text(
            T("Der Standort ist geschlossen."), timeout=MS
        )
        await expect(page.locator(".terminal-buttons").get_by_role("button")).to_have_count(0)
        assert waiting((await http.get("/api/v1/locations/sued")).json())["A"] == 0

        clock.now = before
        await get_when(http, "/api/v1/locations/sued", lambda r: r.json()["open"], "open again")
        page, frames = await terminal(browser, weekday_server)
        held = await hold(page, "answer")
        await page.locator('[data-issue="A"]').click()
        await asyncio.wait_for(held.answered.wait(), TIMEOUT)
        clock.now = after
        await frames.told(lambda m: m.get("type") == "snapshot" and not m["open"], "closed")
        held.release()
        await expect(page.locator(".terminal-done .ticket-number")).to_have_text("A001", timeout=MS)


async def test_a_double_tap_gives_one_ticket(
    browser: Browser, server: LiveServer, http: httpx.AsyncClient
) -> None:
    """Two quick taps on a button, or on two buttons, give one ticket, and its screen."""
    page, _ = await terminal(browser, server)
    await page.locator('[data-issue="A"]').dblclick()
    await expect(page.locator(".terminal-done .ticket-number")).to_have_text("A001")
    page, _ = await terminal(browser, server)
    # A tap on A and, at once, one on B (in the same moment, as two fingers would).
    await page.evaluate(
        "for (const q of ['A', 'B']) document.querySelector(`[data-issue=${q}]`).click()"
    )
    await expect(page.locator(".terminal-done .ticket-number")).to_have_text("A002")
    state = await get_when(
        http, "/api/v1/locations/sued", lambda r: waiting(r.json())["A"] == 2, "two in A"
    )
    assert waiting(state.json()) == {"A": 2, "B": 0}


async def test_a_lost_answer_is_asked_for_again_and_shows_the_same_ticket(
    browser: Browser, server: LiveServer, http: httpx.AsyncClient
) -> None:
    """The network drops the answer of a press that did issue: the terminal asks again
    with the same one-time key and shows that ticket, never a second one."""
    page, _ = await terminal(browser, server)
    dropped: list[str] = []

    async def drop_first(route: Route) -> None:
        if route.request.method == "POST" and not dropped:
            await route.fetch(max_redirects=0)  # the server issues ...
            dropped.append(route.request.url)
            await route.abort("connectionreset")  # ... and the answer is lost
            return
        await route.continue_()

    await page.route(PRESS, drop_first)
    await page.locator('[data-issue="A"]').click()
    await expect(page.locator(".terminal-done .ticket-number")).to_have_text("A001", timeout=MS)
    assert dropped
    assert waiting((await http.get("/api/v1/locations/sued")).json())["A"] == 1


async def test_the_ticket_screen_says_everything_the_slip_says(
    browser: Browser, server: LiveServer, http: httpx.AsyncClient
) -> None:
    """After a press in English the screen shows the number, the service, who is ahead,
    the wait and a QR code to the ticket page in English - an empty printer costs the
    person nothing."""
    await reception_issues(http, "A")
    page, _ = await terminal(browser, server, viewport={"width": 1024, "height": 768})
    await page.goto(server.url + "/terminal/sued?lang=en")
    await page.locator('[data-issue="A"]').click()
    done = page.locator(".terminal-done")
    await expect(done.locator(".ticket-number")).to_have_text("A002")
    await expect(done).to_contain_text("Reception")  # the service, in English
    await expect(done).to_contain_text("Ahead of you: 1")
    await expect(done).to_contain_text("Wait:")
    qr = done.locator("svg.qr")
    await expect(qr).to_be_visible()
    box = await qr.bounding_box()
    assert box and box["y"] + box["height"] <= 768, "the code is below the screen's edge"
    codes = zxingcpp.read_barcodes(Image.open(io.BytesIO(await qr.screenshot())))
    address = codes[0].text
    assert address.startswith(server.url + "/tickets/t_sued_") and address.endswith("?lang=en")
    ticket_page = await http.get(address)
    assert ticket_page.status_code == 200 and 'lang="en"' in ticket_page.text
    assert "A002" in ticket_page.text


def office_with_six_services() -> Office:
    """The appointment office (queue T at Süd) with six services to press at Süd, some
    with long names."""

    def edit(sued: dict[str, Any]) -> None:
        names = {
            "C": "Arbeitsvermittlung",
            "D": "Bildung und Teilhabe",
            "E": "Unterhaltsvorschuss und Wohngeldangelegenheiten",
            "F": "Reha und Schwerbehinderung",
        }
        sued["queues"] += [{"id": q, "name": n, "service_minutes": 10} for q, n in names.items()]
        sued["queues"].append(
            {"id": "T", "name": "Termin", "service_minutes": 15, "appointments": APPOINTMENT_PLAN}
        )
        serve_queues(sued, "2", [*names, "T"])

    return office_with_sued(edit)


@pytest.fixture
async def six_server(redis_server: EmbeddedRedis, redis: Redis) -> AsyncIterator[LiveServer]:
    async with live_server(redis_server.url, office_with_six_services()) as srv:
        yield srv


@pytest.mark.parametrize("size", [(1024, 768), (768, 1024)])
async def test_check_in_is_reachable_without_scrolling(
    browser: Browser, six_server: LiveServer, size: tuple[int, int]
) -> None:
    """With six services, every button and the way to check in are on a kiosk's screen
    (1024x768 and upright 768x1024) without scrolling, and nothing is wider than it."""
    width, height = size
    page, _ = await terminal(browser, six_server, viewport={"width": width, "height": height})
    await expect(page.locator(".terminal-buttons [data-issue]")).to_have_count(6)
    targets = [*await page.locator(".terminal-buttons [data-issue]").all()]
    targets.append(page.get_by_role("link", name=T("Ich habe einen Termin")))
    for target in targets:
        box = await target.bounding_box()
        assert box is not None
        assert box["y"] >= 0 and box["y"] + box["height"] <= height, await target.inner_text()
    scroll = await page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
    assert scroll[0] <= scroll[1]


async def test_the_keypad_types_the_code_and_a_scanner_still_can(
    browser: Browser, six_server: LiveServer
) -> None:
    """On a touch terminal without a keyboard the code is typed on the screen's keypad (its
    own letters and digits, a key to take one back); a scanner types into the same field."""
    page, _ = await terminal(browser, six_server, viewport={"width": 1024, "height": 768})
    await page.get_by_role("link", name=T("Ich habe einen Termin")).click()
    code = page.get_by_label(T("Buchungscode"))
    await expect(code).to_be_focused()
    keypad = page.get_by_role("group", name=T("Tasten zum Eintippen des Codes"))
    await expect(keypad).to_be_visible()
    for key in "K7QM4XPAB":
        await keypad.get_by_role("button", name=key, exact=True).click()
    await expect(code).to_have_value("K7QM-4XPA")  # eight at most, written as printed
    await keypad.get_by_role("button", name=T("Letztes Zeichen löschen")).click()
    await expect(code).to_have_value("K7QM-4XP")
    await expect(code).to_be_focused()  # a scanner's keystrokes still land in the field
    submit = page.get_by_role("button", name=T("Einchecken"))
    box = await submit.bounding_box()
    assert box and box["y"] + box["height"] <= 768, "the check-in button is off the screen"
    await code.fill("")
    await page.keyboard.type("https://example.org/appointments/k7qm-4xpa\n")  # a scanner
    await expect(page.locator("#code-error")).to_be_visible(timeout=MS)  # looked up: unknown
    await expect(code).to_have_value("https://example.org/appointments/k7qm-4xpa")
