"""Staff sign-in with the office's OpenID provider in a real Chromium: the provider on
localhost, waitboard on 127.0.0.1, so the way back is a cross-site navigation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, expect
from redis.asyncio import Redis

from tests.helpers import TIMEOUT, LiveServer, auth
from tests.oidc_provider import USERS, OidcProvider
from tests.staff_sign_in import signing_in_server
from tests.test_accessibility import violations

pytestmark = pytest.mark.browser
MS = TIMEOUT * 1000
PHONE = {"width": 360, "height": 740}


async def fits_and_passes_axe(page: Page) -> None:
    """No sideways scrolling on a 360 px phone, no accessibility issue axe-core finds."""
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert await violations(page) == []


@pytest.fixture
async def srv(
    oidc_provider: OidcProvider, redis_server: Any, redis: Redis, tmp_path: Path
) -> AsyncIterator[LiveServer]:
    async with signing_in_server(oidc_provider, redis_server.url, tmp_path) as s:
        yield s


async def test_advisor_signs_in_calls_the_next_and_signs_out(
    browser: Browser, oidc_provider: OidcProvider, srv: LiveServer
) -> None:
    """alice signs in with her service account at the provider (on a phone), chooses
    counter 2 at Süd (and finds it chosen when she goes to change it), opens it and calls
    the next ticket; the counter page names her;
    signing out ends her session here and at the provider, which then asks for her password
    again. Every page of waitboard on the way fits the phone and passes axe-core."""
    async with httpx.AsyncClient(base_url=srv.url) as http:
        issued = await http.post(
            "/api/v1/locations/sued/tickets", json={"queue": "B"}, headers=auth("reception-sued")
        )
        assert issued.status_code == 201
    page = await browser.new_page(viewport=PHONE)
    await page.goto(srv.url + "/staff/login")
    await fits_and_passes_axe(page)
    await page.get_by_role("link", name="Mit Dienstkonto anmelden").click()
    await page.get_by_label("Username").fill("alice")
    await page.get_by_label("Password").fill(USERS["alice"].password)
    await page.get_by_role("button", name="Sign in").click()

    await expect(page.get_by_role("heading", name="Arbeitsplatz wählen")).to_be_visible(timeout=MS)
    assert page.url.startswith(srv.url + "/staff/workplace")
    await fits_and_passes_axe(page)
    await page.get_by_label("Schalter 2 – Jobcenter Süd").check()
    await page.get_by_role("button", name="Weiter").click()
    await page.wait_for_url(srv.url + "/staff/sued/counters/2", timeout=MS)
    await expect(page.locator(".who")).to_have_text("Angemeldet als Alice Advisor")
    await page.get_by_role("link", name="Arbeitsplatz wechseln").click()
    await expect(page.get_by_label("Schalter 2 – Jobcenter Süd")).to_be_checked()
    await page.get_by_role("button", name="Weiter").click()
    await page.wait_for_url(srv.url + "/staff/sued/counters/2", timeout=MS)

    await page.get_by_role("button", name="Öffnen").click()
    await page.get_by_role("button", name="Nächste Nummer aufrufen").click()
    await expect(page.locator(".current-ticket .ticket-number")).to_have_text("B001")
    await fits_and_passes_axe(page)

    await page.get_by_role("button", name="Abmelden").click()
    await page.get_by_role("button", name="Yes, sign me out").click()
    await page.wait_for_url(srv.url + "/staff/signed-out**", timeout=MS)
    await expect(page.get_by_role("status")).to_have_text("Sie sind abgemeldet.")
    await fits_and_passes_axe(page)

    await page.goto(srv.url + "/staff/sued/counters/2")
    await expect(page.get_by_label("Gerätetoken")).to_be_visible()
    await page.get_by_role("link", name="Mit Dienstkonto anmelden").click()
    await expect(page.get_by_label("Password")).to_be_visible(timeout=MS)


async def test_a_person_without_a_group_sees_why(
    browser: Browser, oidc_provider: OidcProvider, srv: LiveServer
) -> None:
    """carol, in no mapped group, signs in at the provider and sees, in German, that her
    account has no access to waitboard, with the way back to the staff start."""
    page = await browser.new_page(viewport=PHONE)
    response_status: list[int] = []
    page.on(
        "response",
        lambda r: response_status.append(r.status) if "/auth/callback" in r.url else None,
    )
    await page.goto(srv.url + "/staff/sign-in")
    await page.get_by_label("Username").fill("carol")
    await page.get_by_label("Password").fill(USERS["carol"].password)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Kein Zugang zu waitboard")).to_be_visible(
        timeout=MS
    )
    assert response_status == [403]
    await expect(page.get_by_role("alert")).to_contain_text("keiner Gruppe")
    await expect(page.get_by_role("link", name="Zur Übersicht")).to_be_visible()
    await fits_and_passes_axe(page)
