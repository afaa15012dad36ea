"""Appointments in Chromium: book on the public page, check in at the terminal, be called
at a counter and shown on the lobby screen; a slot taken meanwhile; the pages pass axe."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
import zxingcpp
from PIL import Image
from playwright.async_api import Browser, Page, expect
from redis.asyncio import Redis

from tests.browser import open_live, screenshot
from tests.helpers import (
    MONDAY_8,
    TIMEOUT,
    LiveServer,
    SettableClock,
    live_server,
    office_with_appointments,
)
from tests.test_accessibility import PHONE, violations
from tests.test_browser_flows import log_in
from tests.test_browser_staff_actions import accept_dialogs
from waitboard.store.embedded import EmbeddedRedis

pytestmark = pytest.mark.browser
MS = TIMEOUT * 1000


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock(MONDAY_8)  # Monday 08:00 in Berlin


@pytest.fixture
async def office_server(
    redis_server: EmbeddedRedis, redis: Redis, clock: SettableClock
) -> AsyncIterator[LiveServer]:
    """Süd with appointment queue T (weekdays 08:00-12:00, 20-minute slots, 3 places)."""
    async with live_server(redis_server.url, office_with_appointments(), clock=clock) as srv:
        yield srv


async def book_on_the_page(page: Page, server: LiveServer, time: str) -> str:
    """From the location page to a booked slot; the code shown on the confirmation."""
    await page.goto(server.url + "/locations/sued")
    await page.get_by_role("link", name="Termin buchen").click()
    await page.get_by_role("link", name="Termin").first.click()
    await page.get_by_label(time).check()
    await page.get_by_role("button", name="Termin buchen").click()
    await expect(page.get_by_text("Ihr Termin ist gebucht.")).to_be_visible()
    return await page.locator('[data-f="code"]').inner_text()


async def test_book_check_in_at_the_terminal_be_called_and_shown_in_the_lobby(
    browser: Browser, office_server: LiveServer, clock: SettableClock
) -> None:
    """The whole way of someone with an appointment, by clicking: the public booking page,
    the terminal with the code, a counter's call, the lobby screen."""
    citizen = await browser.new_page(viewport=PHONE)
    code = await book_on_the_page(citizen, office_server, "09:00")
    assert len(code) == 9 and code[4] == "-"
    await expect(citizen.locator('[data-f="when"]')).to_contain_text("30.11.2026, 09:00 Uhr")
    qr = zxingcpp.read_barcodes(
        Image.open(io.BytesIO(await citizen.locator("svg.qr").screenshot()))
    )
    assert qr[0].text == f"{office_server.url}/appointments/{code}"
    async with httpx.AsyncClient() as http:
        ics = await http.get(
            office_server.url
            + await citizen.get_by_role("link", name="In den Kalender (.ics)").get_attribute("href")
        )
    assert ics.headers["content-type"].startswith("text/calendar")
    assert "DTSTART:20261130T080000Z" in ics.text  # 09:00 in Berlin
    await screenshot(citizen, "appointment-booked", full_page=True)

    lobby = await open_live(
        browser, office_server.url + "/screens/sued", viewport={"width": 1920, "height": 1080}
    )
    clock.now = MONDAY_8 + timedelta(minutes=50)  # 08:50: check-in opened at 08:30
    terminal = await log_in(
        browser, office_server, "terminal-sued", viewport={"width": 1080, "height": 1920}
    )
    # The appointment queue has no button of its own: it is joined with the code.
    await expect(terminal.locator('[data-issue="T"]')).to_have_count(0)
    await terminal.get_by_role("link", name="Ich habe einen Termin").click()
    await terminal.get_by_label("Buchungscode").fill(code.lower().replace("-", " "))
    await terminal.get_by_role("button", name="Einchecken").click()
    printed = terminal.locator('[data-f="printed-ticket"]')
    await expect(printed.locator(".p-number")).to_have_text("T001")
    await expect(printed).to_contain_text("Termin um 09:00 Uhr")
    # On the screen as well, for whoever finds the printer empty.
    await expect(terminal.locator(".terminal-done .ticket-number")).to_have_text("T001")
    await expect(terminal.locator(".terminal-done")).to_contain_text("Termin um 09:00 Uhr")

    clock.now = MONDAY_8 + timedelta(minutes=59)  # due (2 minutes ahead of its slot)
    counter = await log_in(
        browser, office_server, "counter-sued-2", viewport={"width": 1280, "height": 800}
    )
    await counter.get_by_role("button", name="Öffnen").click()
    await counter.get_by_role("button", name="Nächste Nummer aufrufen").click()
    await expect(counter.locator(".current-ticket .ticket-number")).to_have_text("T001")
    await expect(lobby.locator('[data-latest] [data-f="number"]')).to_have_text("T001", timeout=MS)
    await expect(lobby.locator('[data-latest] [data-f="counter"]')).to_have_text("Schalter 2")

    # The booking's own page now says it is checked in, with the number.
    await citizen.reload()
    await expect(citizen.get_by_text("Ihre Wartenummer ist T001")).to_be_visible()


async def test_a_slot_taken_meanwhile_offers_the_next_free_ones(
    browser: Browser, office_server: LiveServer
) -> None:
    """The page showed 09:00 free; by the time the form is sent others took all 3
    places: the page says so in words, offers the next free times, and one click books
    one of them."""
    page = await browser.new_page(viewport=PHONE)
    await page.goto(office_server.url + "/locations/sued/appointments/T?date=2026-11-30")
    await page.get_by_label("09:00").check()
    async with httpx.AsyncClient(base_url=office_server.url, timeout=TIMEOUT) as http:
        for _ in range(3):
            r = await http.post(
                "/api/v1/locations/sued/appointments",
                json={"queue": "T", "start": "2026-11-30T09:00+01:00"},
            )
            assert r.status_code == 201, r.text
    await page.get_by_role("button", name="Termin buchen").click()
    await expect(page.get_by_role("alert")).to_have_text(
        "Diese Zeit ist inzwischen ausgebucht. Bitte wählen Sie eine andere."
    )
    suggestions = page.get_by_role("group", name="Die nächsten freien Termine")
    await expect(suggestions.get_by_role("button")).to_have_count(3)
    await expect(page.get_by_label("09:00")).to_be_disabled()
    await screenshot(page, "appointment-slots", full_page=True)
    await suggestions.get_by_role("button").first.click()
    await expect(page.get_by_text("Ihr Termin ist gebucht.")).to_be_visible()
    await expect(page.locator('[data-f="when"]')).to_contain_text("09:20 Uhr")


async def test_moving_and_cancelling_with_the_code(
    browser: Browser, office_server: LiveServer
) -> None:
    """With the code typed on /appointments: move to another time, then cancel (after
    saying yes to the question); the places follow."""
    page = await browser.new_page(viewport=PHONE)
    code = await book_on_the_page(page, office_server, "10:00")
    await page.goto(office_server.url + "/appointments")
    await page.get_by_label("Buchungscode").fill(code.replace("-", "").lower())
    await page.get_by_role("button", name="Termin anzeigen").click()
    await page.get_by_role("link", name="Verschieben").click()
    await page.get_by_label("11:00").check()
    await page.get_by_role("button", name="Auf diese Zeit verschieben").click()
    await expect(page.get_by_text("Ihr Termin ist verschoben.")).to_be_visible()
    await expect(page.locator('[data-f="when"]')).to_contain_text("11:00 Uhr")
    asked = accept_dialogs(page)
    await page.get_by_role("button", name="Termin absagen").click()
    await expect(page.locator('[data-f="booking-status"]')).to_have_text("abgesagt")
    assert asked == ["Diesen Termin wirklich absagen? Die Zeit wird wieder frei."]
    async with httpx.AsyncClient(base_url=office_server.url, timeout=TIMEOUT) as http:
        slots = (
            await http.get("/api/v1/locations/sued/appointments/T", params={"date": "2026-11-30"})
        ).json()["slots"]
    free = {s["start"][11:16]: s["free"] for s in slots}
    assert free["10:00"] == 3 and free["11:00"] == 3


async def test_a_wrong_code_gets_a_readable_answer(
    browser: Browser, office_server: LiveServer
) -> None:
    """A typo in the code, or a code nobody booked: a sentence that says what to do."""
    page = await browser.new_page(viewport=PHONE)
    await page.goto(office_server.url + "/appointments")
    await page.get_by_label("Buchungscode").fill("K7QM-4XP")
    await page.get_by_role("button", name="Termin anzeigen").click()
    await expect(page.get_by_role("alert")).to_contain_text("acht Zeichen (Buchstaben und Ziffern)")
    await page.get_by_label("Buchungscode").fill("K7QM-4XPA")
    await page.get_by_role("button", name="Termin anzeigen").click()
    await expect(page.get_by_role("alert")).to_contain_text("keinen Termin")


#: The form's one-time key (the booking's Idempotency-Key).
FORM_KEY = 'form[data-once] input[name="key"]'


async def send_form(
    page: Page, server: LiveServer, time: str, key: str | None = None
) -> tuple[int, str]:
    """Open the booking form, pick ``time``, send it (under ``key`` instead of the form's own
    when given, as a replayed request would): the answer's status and the key sent."""
    await page.goto(server.url + "/locations/sued/appointments/T?date=2026-11-30")
    if key is not None:
        await page.locator(FORM_KEY).evaluate("(input, key) => { input.value = key; }", key)
    sent = await page.locator(FORM_KEY).input_value()
    await page.get_by_label(time).check()
    async with page.expect_response(lambda r: r.request.method == "POST") as answer:
        await page.get_by_role("button", name="Termin buchen").click()
    return (await answer.value).status, sent


async def test_a_form_replayed_from_another_browser_books_nothing_and_shows_no_code(
    browser: Browser, office_server: LiveServer
) -> None:
    """The same booking form (same key, same fields) sent from another browser, even on the
    same network, shows the form again (409) with a plain German message and no code, and
    books nothing; the first browser, now on another network, gets its own booking again."""
    first = await browser.new_context(
        viewport=PHONE, extra_http_headers={"X-Forwarded-For": "198.51.100.7"}
    )
    other = await browser.new_context(
        viewport=PHONE, extra_http_headers={"X-Forwarded-For": "198.51.100.7"}
    )
    page = await first.new_page()
    status, key = await send_form(page, office_server, "09:00")
    assert status == 303
    await expect(page.get_by_text("Ihr Termin ist gebucht.")).to_be_visible()
    code = await page.locator('[data-f="code"]').inner_text()

    stranger = await other.new_page()
    assert (await send_form(stranger, office_server, "09:00", key))[0] == 409
    await expect(stranger.get_by_role("alert")).to_have_text(
        "Dieses Formular wurde schon in einem anderen Browser oder auf einem anderen Gerät "
        "abgeschickt. Hier wurde nichts gebucht. Bitte buchen Sie Ihren Termin noch einmal."
    )
    await expect(stranger.get_by_label("09:00")).to_be_checked()
    html = await stranger.content()
    assert code not in html and code.replace("-", "") not in html
    async with httpx.AsyncClient(base_url=office_server.url, timeout=TIMEOUT) as http:
        slots = (
            await http.get("/api/v1/locations/sued/appointments/T", params={"date": "2026-11-30"})
        ).json()["slots"]
    assert {s["start"][11:16]: s["free"] for s in slots}["09:00"] == 2, "the replay booked"

    assert await first.cookies(), "the first browser got no client cookie"
    await first.set_extra_http_headers({"X-Forwarded-For": "203.0.113.9"})  # (mobile data)
    again = await first.new_page()
    assert (await send_form(again, office_server, "09:00", key))[0] == 303
    await expect(again.get_by_text("Ihr Termin ist gebucht.")).to_be_visible()
    await expect(again.locator('[data-f="code"]')).to_have_text(code)
    await first.close()
    await other.close()


@pytest.mark.parametrize(
    "path",
    [
        "/locations/sued/appointments",
        "/locations/sued/appointments/T",
        "/locations/sued/appointments/ZZ",
        "/locations/sued/appointments/T?lang=en",
        "/appointments",
        "{booking}",
    ],
)
async def test_booking_pages_pass_axe(
    browser: Browser, office_server: LiveServer, path: str
) -> None:
    """No serious or critical accessibility violation on a phone."""
    async with httpx.AsyncClient(base_url=office_server.url, timeout=TIMEOUT) as http:
        booked = await http.post(
            "/api/v1/locations/sued/appointments",
            json={"queue": "T", "start": "2026-11-30T09:40+01:00"},
        )
    page = await browser.new_page(viewport=PHONE)
    await page.goto(office_server.url + path.format(booking=booked.json()["url"]))
    assert await violations(page) == []


@pytest.mark.parametrize(
    ("device", "path"),
    [
        ("reception-sued", "/staff/sued/appointments"),
        ("reception-sued", "/staff/sued/reception"),
        ("counter-sued-2", "/staff/sued/counters/2"),
        ("terminal-sued", "/terminal/sued"),
    ],
)
async def test_staff_pages_with_check_in_pass_axe(
    browser: Browser, office_server: LiveServer, device: str, path: str
) -> None:
    """The day's list and the check-in forms: no serious or critical violation."""
    async with httpx.AsyncClient(base_url=office_server.url, timeout=TIMEOUT) as http:
        for start in ("2026-11-30T09:00+01:00", "2026-11-30T09:20+01:00"):
            await http.post(
                "/api/v1/locations/sued/appointments",
                json={"queue": "T", "start": start, "contact": "0211 123456"},
            )
    page = await log_in(browser, office_server, device, viewport={"width": 1280, "height": 900})
    await page.goto(office_server.url + path)
    assert await violations(page) == []
    if path.endswith("/appointments"):
        await expect(page.locator("table.appointments tbody tr")).to_have_count(2)
        await expect(page.locator("table.appointments")).to_contain_text("0211 123456")
        await screenshot(page, "staff-appointments", full_page=True)


async def test_the_terminal_goes_back_to_german_for_the_next_person(
    browser: Browser, office_server: LiveServer
) -> None:
    """A ticket taken in English ends on the German start; a mistyped code gets the booking
    code's own text, beside its field, which keeps it for correcting; a minute without a
    touch takes that message, English and a code typed but not sent away, after a notice
    that a tap dismisses."""
    terminal = await log_in(
        browser, office_server, "terminal-sued", viewport={"width": 1080, "height": 1920}
    )
    await terminal.clock.install()
    await terminal.goto(office_server.url + "/terminal/sued?lang=en")
    await terminal.locator('[data-issue="A"]').click()
    await expect(terminal.locator(".terminal-done .ticket-number")).to_have_text("A001")
    await terminal.get_by_role("link", name="Done").click()
    await expect(
        terminal.get_by_role("heading", name="Bitte wählen Sie Ihr Anliegen")
    ).to_be_visible()

    await terminal.get_by_role("link", name="Ich habe einen Termin").click()
    await terminal.get_by_label("Buchungscode").fill("abc")
    await terminal.get_by_role("button", name="Einchecken").click()
    message = terminal.locator(".flash")
    await expect(message).to_have_text(
        "Ein Buchungscode besteht aus acht Zeichen (Buchstaben und Ziffern), "
        "zum Beispiel K7QM-4XPA. Bitte prüfen Sie die Eingabe."
    )
    # (Where the code is typed: beside the field, which says it is wrong and has the focus.)
    check_in = terminal.get_by_role("form", name="Ich habe einen Termin")
    await expect(check_in.locator(".flash")).to_have_count(1)
    await expect(check_in.get_by_label("Buchungscode")).to_have_attribute("aria-invalid", "true")
    await expect(check_in.get_by_label("Buchungscode")).to_be_focused()
    await expect(check_in.get_by_label("Buchungscode")).to_have_value("abc")  # to correct
    await terminal.clock.run_for(30_000)
    await expect(message).to_be_visible()  # half a minute: still there for its reader
    await terminal.clock.run_for(31_000)
    await expect(message).to_have_count(0, timeout=MS)
    assert terminal.url == office_server.url + "/terminal/sued"

    await terminal.goto(office_server.url + "/terminal/sued?lang=en")
    await terminal.wait_for_load_state("load")
    await terminal.clock.run_for(61_000)
    await expect(
        terminal.get_by_role("heading", name="Bitte wählen Sie Ihr Anliegen")
    ).to_be_visible(timeout=MS)

    # A code typed and walked away from is not left for the next person to send.
    await terminal.goto(office_server.url + "/terminal/sued/check-in")
    await terminal.wait_for_load_state("load")
    await terminal.get_by_label("Buchungscode").fill("K7QM-4X")
    await terminal.clock.run_for(61_000)
    await expect(
        terminal.get_by_role("heading", name="Bitte wählen Sie Ihr Anliegen")
    ).to_be_visible(timeout=MS)
    await expect(terminal.get_by_label("Buchungscode")).to_have_count(0)

    # Before that, a notice asks; a tap on it keeps the page as it is.
    await terminal.goto(office_server.url + "/terminal/sued?lang=en")
    await terminal.wait_for_load_state("load")
    await terminal.clock.run_for(41_000)
    notice = terminal.locator("[data-still-there]")
    await expect(notice).to_contain_text("Are you still there?", timeout=MS)
    await terminal.get_by_role("button", name="I am still here").click()
    await expect(notice).to_be_hidden()
    await terminal.clock.run_for(30_000)
    await expect(terminal.get_by_role("heading", name="Please choose your service")).to_be_visible()
