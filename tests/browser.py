"""A real browser for the tests: Debian's Chromium driven by Playwright (never a browser
download of its own), pages that have their WebSocket open, and screenshots."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any

from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from tests.helpers import ROOT, TIMEOUT, require_tool

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--autoplay-policy=no-user-gesture-required",
]
#: Where the tests write screenshots: docs/screenshots for `make screenshots`, else aside.
SCREENSHOTS = (
    ROOT / "docs" / "screenshots"
    if os.environ.get("WAITBOARD_SCREENSHOTS")
    else ROOT / "tests" / "artifacts"
)


class GermanBrowser:
    """A browser set up in Germany: its pages and contexts ask for German
    (``Accept-Language``, which the public pages follow) unless a test gives another
    ``locale``."""

    def __init__(self, browser: Browser) -> None:
        self._browser = browser

    def __getattr__(self, name: str) -> Any:
        return getattr(self._browser, name)

    async def new_page(self, **options: Any) -> Page:
        options.setdefault("locale", "de-DE")
        return await self._browser.new_page(**options)

    async def new_context(self, **options: Any) -> BrowserContext:
        options.setdefault("locale", "de-DE")
        return await self._browser.new_context(**options)


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Any]:
    """Debian's Chromium, driven by Playwright (never a browser download of its own)."""
    path = require_tool("chromium")
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield GermanBrowser(b)
        await b.close()


async def open_live(browser: Browser | BrowserContext, url: str, **page_args: Any) -> Page:
    """A page that has its WebSocket open, with no script errors on the way."""
    page = await browser.new_page(**page_args)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(url)
    await expect(page.locator("body")).to_have_attribute(
        "data-live", "open", timeout=TIMEOUT * 1000
    )
    assert not errors, errors
    return page


async def screenshot(page: Page, name: str, full_page: bool = False) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)
