"""The admin's audit and staff directory in a real browser: axe-clean on a desk and on a
360 px phone, filtered and a person deleted with the keyboard alone."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.helpers import TIMEOUT, LiveServer
from tests.test_accessibility import violations
from tests.test_audit_pages import _busy
from tests.test_browser_flows import log_in

pytestmark = pytest.mark.browser
MS = TIMEOUT * 1000


@pytest.mark.parametrize("width", [1280, 360])
@pytest.mark.parametrize(
    "path", ["/staff/audit", "/staff/people", "/staff/people/p-alice/delete", "/staff"]
)
async def test_audit_pages_pass_axe_and_fit_a_phone(
    browser: Browser, server: LiveServer, path: str, width: int
) -> None:
    """No accessibility issue of any impact, and no sideways scrolling on a phone."""
    await _busy(server)
    page = await log_in(browser, server, "admin", viewport={"width": width, "height": 800})
    await page.goto(server.url + path)
    assert await violations(page) == []
    assert await page.evaluate("document.documentElement.scrollWidth") <= width
    await page.context.close()


async def test_filter_and_delete_with_the_keyboard(browser: Browser, server: LiveServer) -> None:
    """The filter's fields follow each other by Tab; choosing 'Aufgerufen' and pressing
    Enter filters; in the directory, Alice is deleted after confirming by keys alone: her
    call stays, under her pseudonym."""
    await _busy(server)
    page = await log_in(browser, server, "admin", viewport={"width": 1280, "height": 900})
    await page.goto(server.url + "/staff/audit")
    await page.get_by_label("Handlung").focus()
    await page.keyboard.press("Tab")
    await expect(page.get_by_label("Von (Tag)")).to_be_focused()
    await page.get_by_label("Handlung").select_option(label="Aufgerufen")
    await page.get_by_label("Bis (Tag)").focus()
    await page.keyboard.press("Enter")
    await expect(page.locator("tr[data-audit]")).to_have_count(1, timeout=MS)
    await expect(page.locator("tr[data-audit] .who")).to_have_text("Alice Advisor")

    await page.goto(server.url + "/staff/people")
    link = page.get_by_role("link", name="Alice Advisor löschen")
    await link.focus()
    await page.keyboard.press("Enter")
    await page.get_by_role("button", name="Endgültig löschen").focus()
    await page.keyboard.press("Enter")
    await expect(page.locator("#flash")).to_contain_text("Pseudonym", timeout=MS)
    await expect(page.locator("tr[data-person=p-alice]")).to_have_count(0)
    await page.goto(server.url + "/staff/audit?action=call")
    await expect(page.locator("tr[data-audit] .who")).to_contain_text("gelöscht (p-alice)")
    await page.context.close()
