"""A counter pauses and resumes from its page by keyboard, and the lobby screen shows
"Pause" meanwhile - in a real Chromium."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Browser, expect

from tests.browser import open_live
from tests.helpers import TIMEOUT, LiveServer, auth
from tests.test_accessibility import violations
from tests.test_browser_flows import log_in
from waitboard.i18n import Translator

pytestmark = pytest.mark.browser
MS = TIMEOUT * 1000
T = Translator("de")


async def test_pause_by_keyboard_shows_pause_on_the_lobby_and_weiter_resumes(
    browser: Browser, server: LiveServer, http: httpx.AsyncClient
) -> None:
    """The advisor picks a reason and presses P: the page says "Pause: Nacharbeit" and
    offers Weiter, the lobby's tile of the counter's queue says "Pause" (not open); W
    resumes, and both show the counter open again."""
    await http.post("/api/v1/locations/sued/counters/1/open", headers=auth("counter-sued-1"))
    lobby = await open_live(browser, server.url + "/screens/sued")
    tile = lobby.locator('.queue-tile[data-queue="A"]')
    await expect(tile).to_have_attribute("data-state", "open", timeout=MS)
    counter = await log_in(browser, server, "counter-sued-1")
    reason = counter.get_by_label(T("Grund der Pause"))
    await reason.focus()
    await reason.select_option(label=T.label("pause", "paperwork"))
    await counter.keyboard.press("Tab")  # to the Pause button: the letters work off a select
    await counter.keyboard.press("p")
    head = counter.locator(".counter-head .opening")
    await expect(head).to_contain_text(
        f"{T.pgettext('counter.paused', 'Pause')}: {T.label('pause', 'paperwork')}"
    )
    await expect(counter.get_by_role("button", name=T("Nächste Nummer aufrufen"))).to_have_count(0)
    await expect(tile).to_have_attribute("data-state", "paused", timeout=MS)
    await expect(tile.locator('[data-f="state"]')).to_have_text(
        T.pgettext("counter.paused", "Pause")
    )
    snap = (await http.get("/api/v1/locations/sued")).json()
    c1 = next(c for c in snap["counters"] if c["id"] == "1")
    assert (c1["state"], c1["pause_reason"], c1["open"]) == ("paused", "paperwork", False)

    await counter.keyboard.press("w")
    await expect(head).to_have_text(T.pgettext("staff.counter_open", "Schalter geöffnet"))
    await expect(counter.get_by_role("button", name=T("Nächste Nummer aufrufen"))).to_be_visible()
    await expect(tile).to_have_attribute("data-state", "open", timeout=MS)


async def test_pause_controls_and_counter_time_fit_a_phone_and_pass_axe(
    browser: Browser, server: LiveServer, http: httpx.AsyncClient
) -> None:
    """On a 360 px phone the counter page with its pause form, the paused page with
    Weiter, and the statistics with the counter-time table neither scroll sideways nor
    have an accessibility issue."""
    phone = {"viewport": {"width": 360, "height": 740}}
    await http.post("/api/v1/locations/sued/counters/1/open", headers=auth("counter-sued-1"))
    counter = await log_in(browser, server, "counter-sued-1", **phone)
    for step in ("open", "paused"):
        await expect(counter.locator(".counter-head .opening")).to_be_visible()
        assert await counter.evaluate("document.documentElement.scrollWidth") <= 360, step
        assert await violations(counter) == [], step
        if step == "open":
            await counter.get_by_role(
                "button", name=T.pgettext("counter.pause_action", "Pause")
            ).click()
            await expect(counter.get_by_role("button", name=T("Weiter"))).to_be_visible()
    stats = await log_in(browser, server, "reception-sued", **phone)
    await stats.goto(server.url + "/staff/sued/stats")
    await expect(stats.get_by_text(T("Zeit der Schalter nach Zustand"))).to_be_visible()
    assert await stats.evaluate("document.documentElement.scrollWidth") <= 360
    assert await violations(stats) == []
