"""The citizen pages and the terminal in the longest languages, in Chromium: reflow at
320 CSS pixels (WCAG 1.4.10) and at 1280 pixels zoomed to 200 %, without sideways
scrolling; the terminal's check-in on a 1024x768 kiosk without scrolling in every
language. (The flows themselves: tests/test_languages_flows.py, whose server and browser
fixtures this module shares.)"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Locator, Page, expect

from tests.helpers import LiveServer, auth, live_server
from tests.test_browser_flows import log_in
from tests.test_browser_terminal import office_with_six_services
from tests.test_languages_flows import (  # noqa: F401 (the fixtures, shared)
    DAY,
    api,
    chrome,
    office_server,
    translator,
)
from waitboard.core.languages import CITIZEN_LANGUAGES, html_lang
from waitboard.store.embedded import EmbeddedRedis

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]
#: The languages whose texts run longest (German, Russian, Ukrainian) and Arabic, whose
#: overflow would run off the left edge.
LONGEST = ["de", "ru", "uk", "ar"]
#: WCAG 1.4.10's 320 CSS pixels; and a 1280x800 screen at 200 % zoom, which lays a page
#: out on 640x400 CSS pixels, two device pixels each (not ``body.style.zoom``, which
#: leaves the page 1280 CSS pixels wide and its media queries unasked).
VIEWS = {
    "320px": {"viewport": {"width": 320, "height": 640}},
    "1280px-200%": {"viewport": {"width": 640, "height": 400}, "device_scale_factor": 2},
}
KIOSK = {"width": 1024, "height": 768}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def views(chrome: Browser) -> AsyncIterator[dict[str, BrowserContext]]:  # noqa: F811
    contexts = {name: await chrome.new_context(**options) for name, options in VIEWS.items()}
    yield contexts
    for context in contexts.values():
        await context.close()


#: What sticks out of the window sideways, for the message of a failure.
STICKING_OUT = """
() => [...document.querySelectorAll("body *")]
  .filter((el) => { const r = el.getBoundingClientRect();
    return r.width > 0 && (r.right > innerWidth + 0.5 || r.left < -0.5); })
  .slice(0, 4)
  .map((el) => `${el.tagName.toLowerCase()}.${el.className} (${Math.round(
    el.getBoundingClientRect().left)}..${Math.round(el.getBoundingClientRect().right)})`)
"""


@pytest.mark.parametrize("view", list(VIEWS))
@pytest.mark.parametrize("lang", LONGEST)
async def test_the_citizen_pages_reflow_without_sideways_scrolling(
    lang: str,
    view: str,
    views: dict[str, BrowserContext],
    office_server: LiveServer,  # noqa: F811
    api: httpx.AsyncClient,  # noqa: F811
) -> None:
    """Overview, location, ticket, booking (the concern, the slots, the confirmation),
    status lookup and accessibility statement: nothing wider than the window."""
    index = LONGEST.index(lang) * len(VIEWS) + list(VIEWS).index(view)
    issued = await api.post(
        "/api/v1/locations/sued/tickets", json={"queue": "A"}, headers=auth("reception-sued")
    )
    booked = await api.post(
        "/api/v1/locations/sued/appointments",
        json={"queue": "T", "start": f"2026-12-01T{8 + index // 3:02d}:{index % 3 * 20:02d}+01:00"},
    )
    assert issued.status_code == booked.status_code == 201, (issued.text, booked.text)
    page = await views[view].new_page()
    wide = []
    try:
        for path in (
            "/",
            "/locations/sued",
            issued.json()["url"],
            "/locations/sued/appointments",
            f"/locations/sued/appointments/T?date={DAY}",
            booked.json()["url"],
            "/status",
            "/barrierefreiheit",
        ):
            sep = "&" if "?" in path else "?"
            await page.goto(f"{office_server.url}{path}{sep}lang={lang}")
            await expect(page.locator("html")).to_have_attribute("lang", html_lang(lang))
            width, window = await page.evaluate(
                "[document.documentElement.scrollWidth, innerWidth]"
            )
            if width > window:
                wide.append((path, width, await page.evaluate(STICKING_OUT)))
    finally:
        await page.close()
        await api.post(
            f"/api/v1/tickets/{issued.json()['id']}/cancel", headers=auth("reception-sued")
        )
    assert wide == [], wide


# --- the terminal's check-in on a kiosk ----------------------------------------------------


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def six_server(
    redis_server: EmbeddedRedis,
    office_server: LiveServer,  # noqa: F811 (after it: it empties Redis when it starts)
) -> AsyncIterator[LiveServer]:
    """A busy kiosk: six services to press at Süd, some with long names, and check-in."""
    async with live_server(redis_server.url, office_with_six_services()) as srv:
        yield srv


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def kiosk(chrome: Browser, six_server: LiveServer) -> AsyncIterator[Page]:  # noqa: F811
    page = await log_in(chrome, six_server, "terminal-sued", viewport=KIOSK)
    yield page
    await page.context.close()


async def on_screen(target: Locator) -> None:
    """``target`` lies wholly within the kiosk's screen, as the page opens (unscrolled)."""
    box = await target.bounding_box()
    assert box is not None, target
    what = (await target.inner_text()) or target
    assert box["x"] >= 0 and box["x"] + box["width"] <= KIOSK["width"], what
    assert box["y"] >= 0 and box["y"] + box["height"] <= KIOSK["height"], what


@pytest.mark.parametrize("lang", CITIZEN_LANGUAGES)
async def test_the_terminal_check_in_is_on_the_kiosk_screen_in_each_language(
    lang: str, kiosk: Page, six_server: LiveServer
) -> None:
    """On a 1024x768 kiosk with six services, the way to check in is on the start screen
    without scrolling in every language (the longest, Russian and Ukrainian, included),
    and on the check-in screen the code field, its keypad and the button are too."""
    t = translator(lang)
    await kiosk.goto(f"{six_server.url}/terminal/sued?lang={lang}")
    await expect(kiosk.locator("html")).to_have_attribute("lang", html_lang(lang))
    await expect(kiosk.locator(".terminal-buttons [data-issue]")).to_have_count(6)
    check_in = kiosk.get_by_role("link", name=t("Ich habe einen Termin"))
    await on_screen(check_in)
    for button in await kiosk.locator(".terminal-buttons [data-issue]").all():
        await on_screen(button)
    assert await kiosk.evaluate("[scrollX, scrollY]") == [0, 0]
    assert await kiosk.evaluate("document.documentElement.scrollWidth <= innerWidth")

    await check_in.click()
    code = kiosk.get_by_label(t("Buchungscode"))
    await expect(code).to_be_focused()
    keypad = kiosk.get_by_role("group", name=t("Tasten zum Eintippen des Codes"))
    await expect(keypad).to_be_visible()
    for target in (code, keypad, kiosk.get_by_role("button", name=t("Einchecken"))):
        await on_screen(target)
    assert await kiosk.evaluate("[scrollX, scrollY]") == [0, 0]
    assert await kiosk.evaluate("document.documentElement.scrollWidth <= innerWidth")
