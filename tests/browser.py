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


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """Debian's Chromium, driven by Playwright (never a browser download of its own)."""
    path = require_tool("chromium")
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield b
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
