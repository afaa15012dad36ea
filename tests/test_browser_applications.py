"""Application status in Chromium: a caseworker creates an application and marks documents
as missing by clicking; a citizen on a phone looks it up with number and PIN."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from axe_playwright_python.async_playwright import Axe
from PIL import Image
from playwright.async_api import Browser, Dialog, Page, expect

from tests.browser import screenshot
from tests.helpers import TIMEOUT, LiveServer
from tests.test_browser_flows import log_in

pytestmark = pytest.mark.browser
MS = TIMEOUT * 1000
PHONE = {"width": 390, "height": 844}
NUMBER = "AB-2026-0042"
MISSING = ["Kontoauszüge der letzten drei Monate", "Mietvertrag"]


async def serious_violations(page: Page) -> list[str]:
    """Serious and critical axe-core findings, one line each."""
    results = await Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


async def test_caseworker_sets_documents_missing_citizen_sees_them(
    browser: Browser, server: LiveServer
) -> None:
    """A caseworker marks documents missing by clicking; a phone sees them on /status."""
    desk = await log_in(browser, server, "caseworker", viewport={"width": 1280, "height": 900})
    await expect(desk.get_by_role("heading", name="Anträge", exact=True)).to_be_visible()
    assert await serious_violations(desk) == []
    create = desk.get_by_role("region", name="Antrag anlegen")
    await create.get_by_label("Antragsnummer").fill(NUMBER.lower())
    await create.get_by_role("button", name="Anlegen").click()
    await expect(desk.get_by_role("heading", name=f"Antrag {NUMBER} angelegt")).to_be_visible()
    pin = (await desk.locator("[data-pin]").inner_text()).strip()
    assert len(pin) == 9 and pin.replace(" ", "").isdigit()
    await screenshot(desk, "application-pin")
    await desk.get_by_role("link", name="Zum Antrag").click()

    await expect(desk.get_by_role("heading", name=f"Antrag {NUMBER}")).to_be_visible()
    await desk.get_by_label("Stand", exact=True).select_option(label="Unterlagen fehlen")
    await desk.get_by_label("Fehlende Unterlagen").fill("\n".join(MISSING))
    await desk.get_by_role("button", name="Speichern").click()
    await expect(desk.get_by_role("status")).to_have_text("Gespeichert: Unterlagen fehlen.")
    await expect(desk.locator('[data-f="stage"]')).to_have_text("Unterlagen fehlen")
    history = desk.get_by_role("table", name="Alle Änderungen, die neueste zuerst")
    await expect(history.get_by_role("row").nth(1)).to_contain_text(
        "Eingegangen → Unterlagen fehlen"
    )
    await expect(history.get_by_role("row").nth(1)).to_contain_text("caseworker")
    assert await serious_violations(desk) == []
    await screenshot(desk, "application-caseworker", full_page=True)

    context = await browser.new_context(viewport=PHONE)
    phone = await context.new_page()
    await phone.goto(server.url + "/")
    await phone.get_by_role("link", name="Stand Ihres Antrags abfragen").click()
    await expect(phone.get_by_role("heading", name="Stand Ihres Antrags")).to_be_visible()
    assert await serious_violations(phone) == []

    await phone.get_by_label("Antragsnummer").fill(NUMBER)
    await phone.get_by_label("PIN").fill("0000 0000" if pin != "0000 0000" else "1111 1111")
    await phone.get_by_role("button", name="Stand abfragen").click()
    await expect(phone.get_by_role("alert")).to_have_text(
        "Antragsnummer oder PIN stimmen nicht. Bitte prüfen Sie beides in unserem Schreiben "
        "und versuchen Sie es noch einmal."
    )
    await expect(phone.get_by_label("Antragsnummer")).to_have_value(NUMBER)
    await expect(phone.get_by_label("PIN")).to_be_focused()
    assert "PIN" not in phone.url and pin.replace(" ", "") not in phone.url
    assert await serious_violations(phone) == []
    await screenshot(phone, "application-status-error")

    await phone.get_by_label("PIN").fill(pin)
    await phone.get_by_role("button", name="Stand abfragen").click()
    await expect(phone.get_by_role("heading", name=f"Ihr Antrag {NUMBER}")).to_be_focused()
    await expect(phone.locator('[data-f="stage"]')).to_have_text("Unterlagen fehlen")
    items = phone.get_by_role("list", name="Diese Unterlagen fehlen noch:").get_by_role("listitem")
    await expect(items).to_have_text(MISSING)
    await expect(phone.get_by_text("Letzte Änderung:")).to_be_visible()
    assert pin not in await phone.content() and phone.url == server.url + "/status"
    assert await serious_violations(phone) == []
    await screenshot(phone, "application-status", full_page=True)

    await phone.goto(server.url + "/status?lang=en")
    await phone.get_by_label("Application number").fill(NUMBER)
    await phone.get_by_label("PIN").fill(pin)
    await phone.get_by_role("button", name="Check status").click()
    await expect(phone.locator('[data-f="stage"]')).to_have_text("Documents missing")
    await context.close()


async def test_caseworker_deletes_an_application_filed_by_mistake(
    browser: Browser, server: LiveServer
) -> None:
    """The delete needs the tick box (the browser asks for it) and a yes to the question;
    a no keeps the application, a yes deletes it and the list says so."""
    desk = await log_in(browser, server, "caseworker", viewport={"width": 1280, "height": 900})
    create = desk.get_by_role("region", name="Antrag anlegen")
    await create.get_by_label("Antragsnummer").fill(NUMBER)
    await create.get_by_role("button", name="Anlegen").click()
    await desk.get_by_role("link", name="Zum Antrag").click()
    section = desk.get_by_role("region", name="Antrag löschen")
    await expect(section).to_contain_text("sofort und endgültig gelöscht")
    assert await serious_violations(desk) == []

    button = section.get_by_role("button", name="Endgültig löschen")
    await button.click()  # no tick: the browser refuses to send the form
    tick = section.get_by_label(f"Ja, Antrag {NUMBER} jetzt endgültig löschen")
    assert not await tick.evaluate("box => box.validity.valid")
    questions: list[str] = []

    async def answer(dialog: Dialog, accept: bool) -> None:
        questions.append(dialog.message)
        await (dialog.accept() if accept else dialog.dismiss())

    desk.once("dialog", lambda d: answer(d, accept=False))
    await tick.check()
    await button.click()
    await expect(desk.get_by_role("heading", name=f"Antrag {NUMBER}")).to_be_visible()
    assert questions == [
        f"Antrag {NUMBER} mit PIN und Verlauf endgültig löschen? "
        "Das lässt sich nicht rückgängig machen."
    ]

    desk.once("dialog", lambda d: answer(d, accept=True))
    await button.click()
    await expect(desk.get_by_role("status")).to_have_text(
        f"Antrag {NUMBER} ist mit PIN und Verlauf gelöscht."
    )
    await expect(desk.get_by_role("heading", name="Anträge", exact=True)).to_be_visible()
    await expect(desk.get_by_role("link", name=NUMBER)).to_have_count(0)
    assert len(questions) == 2
    assert await serious_violations(desk) == []


async def test_the_pin_slip_prints_alone_in_both_languages(
    browser: Browser, server: LiveServer
) -> None:
    """The PIN page offers a slip for the citizen: number, PIN and the way to /status in
    German and the language chosen for them (English unless the caseworker picks another),
    a QR code to /status in that language without the PIN; printed, only the slip."""
    desk = await log_in(browser, server, "caseworker", viewport={"width": 1280, "height": 900})
    create = desk.get_by_role("region", name="Antrag anlegen")
    await create.get_by_label("Antragsnummer").fill(NUMBER)
    await create.get_by_role("button", name="Anlegen").click()
    pin = (await desk.locator("[data-pin]").inner_text()).strip()
    slip = desk.locator("[data-slip]")
    await expect(slip.locator("h3")).to_have_text(
        ["Stand Ihres Antrags online abfragen", "Check the status of your application online"]
    )
    for lang, number_label in (("de", "Antragsnummer"), ("en", "Application number")):
        part = slip.locator(f'[lang="{lang}"]')
        await expect(part.locator("dt").first).to_have_text(number_label)
        await expect(part.locator("dd")).to_have_text([NUMBER, pin])
        await expect(part).to_contain_text(f"{server.url}/status")
    assert await serious_violations(desk) == []
    qr = zxingcpp.read_barcodes(Image.open(io.BytesIO(await slip.locator("svg.qr").screenshot())))
    assert [code.text for code in qr] == [f"{server.url}/status?lang=en"]

    await desk.evaluate(
        "() => { window.printed = 0; window.print = () => { window.printed += 1; }; }"
    )
    await desk.get_by_role("button", name="Zettel drucken").click()
    assert await desk.evaluate("window.printed") == 1  # (the browser's print dialog)
    await desk.emulate_media(media="print")
    await expect(slip).to_be_visible()
    for hidden in (
        desk.get_by_role("heading", name=f"Antrag {NUMBER} angelegt"),
        desk.get_by_role("button", name="Zettel drucken"),
        desk.get_by_role("link", name="Zum Antrag"),
        desk.locator("header.site"),
    ):
        await expect(hidden).to_be_hidden()
    await screenshot(desk, "application-pin-slip-print")


async def test_an_application_fits_a_small_screen(browser: Browser, server: LiveServer) -> None:
    """At 360 px the new PIN's page and the application's page have no sideways
    scrolling, long missing items included, and the delete's tick box sits beside its
    label, not across the card."""
    desk = await log_in(browser, server, "caseworker", viewport={"width": 360, "height": 740})
    create = desk.get_by_role("region", name="Antrag anlegen")
    await create.get_by_label("Antragsnummer").fill(NUMBER)
    await create.get_by_role("button", name="Anlegen").click()
    slip = desk.locator("[data-slip]")
    await expect(slip).to_be_visible()  # (the page with the PIN and its slip fits too)
    assert await desk.evaluate("document.documentElement.scrollWidth") <= 360
    pin = (await desk.locator("[data-pin]").bounding_box()) or {}
    assert pin.get("height", 0) < 100  # (one line: the PIN is not broken in two)
    await desk.get_by_role("link", name="Zum Antrag").click()
    await desk.get_by_label("Stand", exact=True).select_option(label="Unterlagen fehlen")
    await desk.get_by_label("Fehlende Unterlagen").fill(
        "Mietvertrag mit Nebenkostenabrechnung für das Jahr 2025\nKontoauszüge\n"
        "Nebenkostenabrechnungsnachweisunterlagenzusammenstellung"
    )
    await desk.get_by_role("button", name="Speichern").click()
    await expect(desk.get_by_role("status")).to_have_text("Gespeichert: Unterlagen fehlen.")
    assert await desk.evaluate("document.documentElement.scrollWidth") <= 360
    tick = desk.get_by_label(f"Ja, Antrag {NUMBER} jetzt endgültig löschen")
    box, label = await tick.bounding_box(), await desk.locator("label", has=tick).bounding_box()
    assert box and label and box["width"] < 40 and box["y"] < label["y"] + 30


async def test_a_too_long_missing_line_is_named_and_kept_for_correcting(
    browser: Browser, server: LiveServer
) -> None:
    """A missing document of 201 characters: the message says which line is too long and
    by how much, beside the field, which keeps everything typed; nothing is saved; the
    shortened line then saves."""
    desk = await log_in(browser, server, "caseworker", viewport={"width": 1280, "height": 900})
    create = desk.get_by_role("region", name="Antrag anlegen")
    await create.get_by_label("Antragsnummer").fill(NUMBER)
    await create.get_by_role("button", name="Anlegen").click()
    await desk.get_by_role("link", name="Zum Antrag").click()
    long_line = "Nachweis über " + "x" * 187  # 201 characters
    typed = "\n".join([MISSING[0], long_line, MISSING[1]])
    await desk.get_by_label("Stand", exact=True).select_option(label="Unterlagen fehlen")
    await desk.get_by_label("Fehlende Unterlagen").fill(typed)
    await desk.get_by_role("button", name="Speichern").click()
    message = desk.locator("#stage-error")
    await expect(message).to_have_text(
        "Zeile 2 der fehlenden Unterlagen hat 201 Zeichen; erlaubt sind höchstens 200. "
        "Bitte kürzen Sie sie oder teilen Sie sie auf zwei Zeilen auf."
    )
    field = desk.get_by_label("Fehlende Unterlagen")
    await expect(field).to_have_value(typed)
    await expect(field).to_have_attribute("aria-invalid", "true")
    await expect(field).to_be_focused()
    await expect(desk.get_by_label("Stand", exact=True)).to_have_value("documents_missing")
    await expect(desk.locator('[data-f="stage"]')).to_have_text("Eingegangen")  # not saved
    assert await serious_violations(desk) == []
    await field.fill(typed.replace(long_line, long_line[:200]))
    await desk.get_by_role("button", name="Speichern").click()
    await expect(desk.get_by_role("status")).to_have_text("Gespeichert: Unterlagen fehlen.")
