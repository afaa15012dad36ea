"""What a person relies on in their own language, in Chromium: booking an appointment, the
application status lookup and a ticket called to a counter (on the phone and spoken in
the lobby), in each of the seven languages; booking and the lookup by keyboard alone,
with the focus always visible. (Reflow and the terminal: tests/test_languages_layout.py.)

One server and one browser serve the whole module: each test makes its own data (its own
slot, application number and ticket), so the tests do not depend on each other's."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from itertools import pairwise

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Locator, Page, expect

from tests.browser import open_live
from tests.helpers import (
    MONDAY_8,
    TIMEOUT,
    LiveServer,
    SettableClock,
    auth,
    live_server,
    office_with_appointments,
)
from tests.test_browser_terminal import Frames
from waitboard.core.applications import STAGE_TEXTS, Stage
from waitboard.core.languages import CITIZEN_LANGUAGES, RIGHT_TO_LEFT, html_lang
from waitboard.i18n import Translator
from waitboard.pages.render import office_names
from waitboard.store.embedded import EmbeddedRedis
from waitboard.store.redis import connect as redis_connect

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]
MS = TIMEOUT * 1000
PHONE = {"width": 390, "height": 844}
#: Süd with appointment queue T (weekdays 08:00-12:00, 20-minute slots, 3 places each).
OFFICE = office_with_appointments()
SUED = OFFICE.location_by_id["sued"]
#: Monday 30 November 2026, 08:00 in Berlin: slots from 08:40 can be booked (30 minutes'
#: notice).
DAY = "2026-11-30"


def translator(lang: str) -> Translator:
    """The pages' own texts and the office's names in ``lang``, as the server has them."""
    return Translator(lang, names=office_names(OFFICE, lang))


def counter_name(t: Translator, counter_id: str) -> str:
    counter = SUED.counter_by_id[counter_id]
    return t.name({"name": counter.name, "name_en": counter.name_en})


# --- one server, one browser for the module ----------------------------------------------


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def office_server(redis_server: EmbeddedRedis) -> AsyncIterator[LiveServer]:
    client = redis_connect(redis_server.url)
    await client.flushall()
    await client.aclose()
    async with live_server(redis_server.url, OFFICE, clock=SettableClock(MONDAY_8)) as srv:
        yield srv


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def api(office_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=office_server.url, timeout=TIMEOUT) as client:
        yield client


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def chrome() -> AsyncIterator[Browser]:
    from tests.browser import chromium

    async with chromium() as b:
        yield b


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def phone(chrome: Browser) -> AsyncIterator[BrowserContext]:
    """A phone's browser set to German: the pages follow ``?lang=``, not the browser."""
    context = await chrome.new_context(viewport=PHONE)
    yield context
    await context.close()


@pytest_asyncio.fixture(loop_scope="module")
async def page(phone: BrowserContext) -> AsyncIterator[Page]:
    p = await phone.new_page()
    yield p
    await p.close()


# --- what the checks share ----------------------------------------------------------------

#: The focused element, and whether a focus indicator is drawn around it.
FOCUSED = """
() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const s = getComputedStyle(el);
  const outline = s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0;
  return {
    what: `${el.tagName.toLowerCase()} ${(el.getAttribute("aria-label") || el.textContent
      || el.value || el.name || "").trim().replace(/\\s+/g, " ").slice(0, 40)}`,
    shown: outline || s.boxShadow !== "none",
  };
}
"""

#: The left edges of ``text``'s characters inside the element, in reading order.
GLYPH_LEFTS = """
(el, text) => {
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const at = node.textContent.indexOf(text);
    if (at < 0) continue;
    const lefts = [];
    for (let k = at; k < at + text.length; k++) {
      const range = document.createRange();
      range.setStart(node, k);
      range.setEnd(node, k + 1);
      lefts.push(range.getBoundingClientRect().left);
    }
    return lefts;
  }
  return null;
}
"""


async def reads_left_to_right(element: Locator, text: str) -> bool:
    """``text`` inside ``element`` is drawn left to right, character by character."""
    lefts = await element.evaluate(GLYPH_LEFTS, text)
    assert lefts is not None, f"{text!r} is not in the element"
    return all(a < b for a, b in pairwise(lefts))


async def tab_to(page: Page, target: Locator, limit: int = 80) -> None:
    """Tab until ``target`` has the focus; every element on the way shows that it has it."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        focused = await page.evaluate(FOCUSED)
        if focused is not None:
            assert focused["shown"], f"no visible focus on {focused['what']}"
        if await target.evaluate("el => el === document.activeElement"):
            return
    pytest.fail(f"{limit} presses of Tab did not reach {target}")


async def focus_shown(page: Page) -> None:
    focused = await page.evaluate(FOCUSED)
    assert focused is not None and focused["shown"], focused


async def create_application(api: httpx.AsyncClient, number: str) -> str:
    """A caseworker files an application (through the API); its PIN."""
    r = await api.post("/api/v1/applications", json={"number": number}, headers=auth("caseworker"))
    assert r.status_code == 201, r.text
    return str(r.json()["pin"])


# --- 1. booking ---------------------------------------------------------------------------


def slot(index: int) -> str:
    """A slot of its own for each language: 08:40, 09:00, ... on Monday."""
    start = MONDAY_8 + timedelta(hours=1, minutes=40 + 20 * index)  # (Berlin is UTC+1)
    return start.strftime("%H:%M")


@pytest.mark.parametrize("lang", CITIZEN_LANGUAGES)
async def test_booking_an_appointment_in_each_language(
    lang: str, page: Page, office_server: LiveServer
) -> None:
    """From the location page through the concern and a slot to the confirmation: all in
    the language chosen, with the booking code shown whole and readable; in Arabic the
    page runs right to left and the code and the time still read left to right."""
    t, time = translator(lang), slot(CITIZEN_LANGUAGES.index(lang))
    await page.goto(f"{office_server.url}/locations/sued?lang={lang}")
    await page.get_by_role(
        "link", name=t.pgettext("location.book", "Termin buchen"), exact=True
    ).click()
    await page.locator("a.choice", has_text=t.name(SUED.queue_by_id["T"])).click()
    await page.get_by_label(time).check()
    await page.get_by_role("button", name=t.pgettext("booking.submit", "Termin buchen")).click()

    await expect(page.get_by_role("status")).to_have_text(t("Ihr Termin ist gebucht."))
    await expect(page.locator("html")).to_have_attribute("lang", html_lang(lang))
    await expect(page.get_by_role("heading", level=1)).to_have_text(t("Ihr Termin"))
    when = page.locator('[data-f="when"]')
    await expect(when).to_contain_text(time)
    await expect(page.get_by_text(t("Buchungscode"), exact=True)).to_be_visible()
    code = page.locator('[data-f="code"]')
    await expect(code).to_have_text(re.compile(r"^[A-Z0-9]{4}-[A-Z0-9]{4}$"))
    await expect(code).to_be_in_viewport()
    text = await code.inner_text()
    box = await code.bounding_box()
    font = await code.evaluate("el => parseFloat(getComputedStyle(el).fontSize)")
    assert box and box["height"] < 2 * font, "the code is broken over two lines"
    assert await page.evaluate("document.documentElement.scrollWidth <= innerWidth")

    if lang in RIGHT_TO_LEFT:
        await expect(page.locator("html")).to_have_attribute("dir", "rtl")
        assert await page.evaluate("getComputedStyle(document.body).direction") == "rtl"
        assert await reads_left_to_right(code, text), f"the code {text} runs right to left"
        assert await reads_left_to_right(when, time), f"the time {time} runs right to left"


async def test_the_arabic_booking_code_is_a_left_to_right_island(
    page: Page, office_server: LiveServer, api: httpx.AsyncClient
) -> None:
    """On an Arabic page the booking code and the appointment's time are left-to-right
    islands, not left to the bidi rules of their own characters."""
    r = await api.post(
        "/api/v1/locations/sued/appointments",
        json={"queue": "T", "start": f"{DAY}T11:40+01:00"},
    )
    assert r.status_code == 201, r.text
    await page.goto(f"{office_server.url}{r.json()['url']}?lang=ar")
    island = """el => getComputedStyle(el).direction === "ltr"
        || !!el.closest('bdi, [dir="ltr"]')"""
    assert await page.locator('[data-f="code"]').evaluate(island)
    # The sentence around the time stays right to left; the time itself is an island.
    assert (
        await page.locator('[data-f="when"]').evaluate("el => getComputedStyle(el).direction")
        == "rtl"
    )
    assert await page.locator('[data-f="when"] bdi').evaluate(island)


# --- 2. the application status lookup -----------------------------------------------------


@pytest.mark.parametrize("lang", CITIZEN_LANGUAGES)
async def test_the_status_lookup_answers_in_each_language(
    lang: str, page: Page, office_server: LiveServer, api: httpx.AsyncClient
) -> None:
    """From the overview to the lookup, number and PIN, and the answer: in the language
    the person chose."""
    t = translator(lang)
    number = f"LF-2026-{CITIZEN_LANGUAGES.index(lang) + 1:04d}"
    pin = await create_application(api, number)
    await page.goto(f"{office_server.url}/?lang={lang}")
    await page.get_by_role("link", name=t("Stand Ihres Antrags abfragen")).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(t("Stand Ihres Antrags"))
    await page.get_by_label(t("Antragsnummer")).fill(number)
    await page.get_by_label(t("PIN"), exact=True).fill(pin)
    await page.get_by_role("button", name=t("Stand abfragen")).click()

    answer = page.get_by_role("heading", level=1)
    await expect(answer).to_have_text(t("Ihr Antrag {number}", number=number))
    await expect(answer).to_be_focused()
    await expect(page.locator("html")).to_have_attribute("lang", html_lang(lang))
    stage = t.message(STAGE_TEXTS[Stage.RECEIVED])
    await expect(page.locator('[data-f="stage"]')).to_have_text(stage)
    if lang in RIGHT_TO_LEFT:
        await expect(page.locator("html")).to_have_attribute("dir", "rtl")
        assert await reads_left_to_right(answer, number), f"{number} runs right to left"


# --- 3. a ticket called: the phone shows it, the lobby says it -----------------------------

#: speechSynthesis recorded instead of spoken: each utterance with its language.
SPEECH = """
window.__spoken = [];
window.speechSynthesis.speak = (u) => { window.__spoken.push([u.text, u.lang]); };
"""


async def call_to_counter_1(api: httpx.AsyncClient, ticket_id: str) -> None:
    """Counter 1 calls until it has ``ticket_id`` (finishing tickets a failed test left
    waiting; each test finishes its own)."""
    counter = auth("counter-sued-1")
    await api.post("/api/v1/locations/sued/counters/1/open", headers=counter)
    for _ in range(20):
        r = await api.post("/api/v1/locations/sued/counters/1/call-next", headers=counter)
        assert r.status_code == 200, r.text
        if r.json()["id"] == ticket_id:
            return
        await finish(api, r.json()["id"])
    pytest.fail(f"counter 1 never called {ticket_id}")


async def finish(api: httpx.AsyncClient, ticket_id: str) -> None:
    for action in ("start", "complete"):
        await api.post(f"/api/v1/tickets/{ticket_id}/{action}", headers=auth("counter-sued-1"))


@pytest.mark.parametrize("lang", CITIZEN_LANGUAGES)
async def test_a_call_is_shown_on_the_phone_and_spoken_in_its_language(
    lang: str, phone: BrowserContext, office_server: LiveServer, api: httpx.AsyncClient
) -> None:
    """A ticket page opened in a language and a lobby screen set to it; a counter calls the
    ticket: the page says so in that language (in its live region, which screen readers
    read out), and the lobby speaks the call in that language, with a voice of it."""
    t = translator(lang)
    r = await api.post(
        "/api/v1/locations/sued/tickets", json={"queue": "A"}, headers=auth("reception-sued")
    )
    assert r.status_code == 201, r.text
    ticket = r.json()
    mobile = await open_live(phone, f"{office_server.url}{ticket['url']}?lang={lang}")
    lobby = await phone.new_page()
    await lobby.set_viewport_size({"width": 1280, "height": 720})
    frames = Frames(lobby)
    await lobby.add_init_script(SPEECH)
    await lobby.goto(f"{office_server.url}/screens/sued?lang={lang}&voice=1")
    # (Calls in the screen's first snapshot are old ones, never spoken: wait for it.)
    await frames.told(lambda m: m.get("type") == "snapshot", "the lobby's first snapshot")
    try:
        await call_to_counter_1(api, ticket["id"])
        counter = counter_name(t, "1")
        said = mobile.get_by_role("status").filter(has=mobile.locator('[data-f="status"]'))
        await expect(said.locator('[data-f="status"]')).to_have_text(
            t.label("ticket.status", "called"), timeout=MS
        )
        await expect(said.locator('[data-f="go_to"]')).to_have_text(
            t("Bitte zu {counter}", counter=counter)
        )
        await expect(mobile.locator("html")).to_have_attribute("lang", html_lang(lang))
        await lobby.wait_for_function("window.__spoken.length > 0", timeout=MS)
        spoken = re.sub(r"^([A-Z]+)0*(\d+)$", r"\1 \2", ticket["number"])
        [[text, voice]] = await lobby.evaluate("window.__spoken")
        assert text == t("Nummer {number}, bitte zu {counter}.", number=spoken, counter=counter)
        assert voice.split("-")[0] == html_lang(lang), voice
    finally:
        await finish(api, ticket["id"])
        await mobile.close()
        await lobby.close()


# --- 4. by keyboard alone -------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["de", "ar"])
async def test_booking_by_keyboard_alone(lang: str, page: Page, office_server: LiveServer) -> None:
    """Tab, Enter and the arrow keys from the location page to the confirmation, left to
    right and right to left; wherever the focus goes, it is seen."""
    t = translator(lang)
    await page.goto(f"{office_server.url}/locations/sued?lang={lang}")
    await tab_to(
        page,
        page.get_by_role("link", name=t.pgettext("location.book", "Termin buchen"), exact=True),
    )
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/locations/sued/appointments?*")
    await tab_to(page, page.locator("a.choice", has_text=t.name(SUED.queue_by_id["T"])))
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/appointments/T?*")
    first = page.locator('input[name="start"]:enabled').first
    await tab_to(page, first)
    await page.keyboard.press("ArrowDown")  # the next time: chosen as the focus moves
    chosen = page.locator('input[name="start"]:focus')
    await expect(chosen).to_be_checked()
    await focus_shown(page)
    time = (await chosen.get_attribute("value") or "")[11:16]
    await tab_to(
        page, page.get_by_role("button", name=t.pgettext("booking.submit", "Termin buchen"))
    )
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("status")).to_have_text(t("Ihr Termin ist gebucht."))
    await expect(page.locator('[data-f="when"]')).to_contain_text(time)
    await expect(page.locator('[data-f="code"]')).to_have_text(re.compile(r"^\w{4}-\w{4}$"))


@pytest.mark.parametrize("lang", ["de", "ar"])
async def test_the_status_lookup_by_keyboard_alone(
    lang: str, page: Page, office_server: LiveServer, api: httpx.AsyncClient
) -> None:
    """From the overview's link to the answer with Tab, typing, Space and Enter; the
    answer takes the focus, so a screen reader starts there."""
    t = translator(lang)
    number = f"KB-2026-{['de', 'ar'].index(lang) + 1:04d}"
    pin = await create_application(api, number)
    await page.goto(f"{office_server.url}/?lang={lang}")
    await tab_to(page, page.get_by_role("link", name=t("Stand Ihres Antrags abfragen")))
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/status?*")
    await tab_to(page, page.get_by_label(t("Antragsnummer")))
    await page.keyboard.type(number)
    await tab_to(page, page.get_by_label(t("PIN"), exact=True))
    await page.keyboard.type(pin)
    await tab_to(page, page.get_by_role("button", name=t("Stand abfragen")))
    await page.keyboard.press("Space")
    answer = page.get_by_role("heading", level=1)
    await expect(answer).to_have_text(t("Ihr Antrag {number}", number=number))
    await expect(answer).to_be_focused()
    await tab_to(page, page.get_by_role("link", name=t("Einen anderen Antrag abfragen")))
