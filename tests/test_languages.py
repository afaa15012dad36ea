"""The languages of the lobby: chosen by ``?lang=`` or (on the public web) by the browser,
named in themselves in a menu on every citizen page and the terminal, carried from the
terminal's press to the printed code and the phone, right to left in Arabic - and no
citizen page of a shipped language falls back to German."""

from __future__ import annotations

import io
import re
from html import unescape

import httpx
import pytest
import zxingcpp
from babel.messages.pofile import read_po
from PIL import Image
from playwright.async_api import Browser, expect
from redis.asyncio import Redis

from tests.browser import screenshot
from tests.helpers import ROOT, LiveServer, auth, live_server
from tests.test_browser_terminal import terminal
from waitboard.core.languages import AUTONYMS, CITIZEN_LANGUAGES
from waitboard.core.office import Office
from waitboard.store.embedded import EmbeddedRedis

HTML = {"Accept": "text/html"}
OTHERS = [lang for lang in CITIZEN_LANGUAGES if lang != "de"]


async def test_every_language_is_chosen_by_lang_and_named_in_itself(
    http: httpx.AsyncClient,
) -> None:
    for lang in CITIZEN_LANGUAGES:
        page = (await http.get(f"/locations/sued?lang={lang}", headers=HTML)).text
        html_lang = "de" if lang == "ls" else lang
        opening = f'<html lang="{html_lang}"' + (' dir="rtl">' if lang == "ar" else ">")
        assert opening in page, lang
        for code, name in AUTONYMS.items():
            # (Each menu entry in its own language, so a screen reader says it right.)
            own = "de" if code == "ls" else code
            assert re.search(rf'hreflang="{own}" lang="{own}"[^>]*>{name}</a>', page), (lang, code)
        assert 'aria-current="page"' in page


async def test_the_browser_language_decides_on_the_public_web_only(
    http: httpx.AsyncClient,
) -> None:
    turkish = {**HTML, "Accept-Language": "tr-TR,tr;q=0.9,de;q=0.5"}
    assert '<html lang="tr">' in (await http.get("/", headers=turkish)).text
    assert (
        '<html lang="uk">'
        in (await http.get("/", headers={**HTML, "Accept-Language": "fr, uk;q=0.8"})).text
    )
    assert (
        '<html lang="de">'
        in (await http.get("/", headers={**HTML, "Accept-Language": "fr, it"})).text
    )
    # ?lang= wins, and the lobby screen and staff pages do not follow the browser.
    assert '<html lang="ar" dir="rtl">' in (await http.get("/?lang=ar", headers=turkish)).text
    assert '<html lang="de">' in (await http.get("/screens/sued", headers=turkish)).text
    assert '<html lang="de">' in (await http.get("/staff/login", headers=turkish)).text


async def test_staff_pages_speak_german_and_english_only(http: httpx.AsyncClient) -> None:
    page = (await http.get("/staff/login?lang=tr", headers=HTML)).text
    assert '<html lang="de">' in page
    assert "Türkçe" not in page and "English" in page


def _german_texts(lang: str) -> set[str]:
    """The German source texts that ``lang`` translates into something else (long enough
    to be told apart from names and codes)."""
    path = ROOT / "kiosk_templates" / "locale" / lang / "LC_MESSAGES" / "waitboard.po"
    with path.open("rb") as f:
        catalog = read_po(f)
    texts = set()
    for m in catalog:
        if not m.id or not isinstance(m.id, str) or "{" in m.id or len(m.id) < 12:
            continue
        if m.string and m.string != m.id:
            texts.add(m.id)
    return texts


def _visible(html: str) -> str:
    """The page as text, without the embedded JSON, the language menu (each language in
    itself) and what is German on purpose (``lang="de"``: the link to Leichte Sprache)."""
    html = re.sub(r'<script type="application/json".*?</script>', "", html, flags=re.S)
    html = re.sub(r'<nav class="languages".*?</nav>', "", html, flags=re.S)
    html = re.sub(r'<a [^>]*lang="de"[^>]*>.*?</a>', "", html, flags=re.S)
    return unescape(re.sub(r"<[^>]+>", " ", html))


@pytest.mark.parametrize("lang", [lang for lang in OTHERS if lang != "ls"])
async def test_no_citizen_page_falls_back_to_german(lang: str, http: httpx.AsyncClient) -> None:
    issued = await http.post(
        "/api/v1/locations/sued/tickets", json={"queue": "A"}, headers=auth("reception-sued")
    )
    german = _german_texts(lang)
    pages = [
        "/",
        "/locations/sued",
        issued.json()["url"],
        "/status",
        "/appointments",
        "/locations/sued/appointments",
        "/barrierefreiheit",
        "/barrierefreiheit/melden",
        "/gebaerdensprache",
        "/locations/nowhere",
    ]
    for path in pages:
        sep = "&" if "?" in path else "?"
        text = _visible((await http.get(f"{path}{sep}lang={lang}", headers=HTML)).text)
        found = [g for g in german if g in text]
        assert not found, (lang, path, found[:3])


@pytest.mark.browser
@pytest.mark.parametrize("lang", OTHERS)
async def test_the_terminal_language_travels_to_the_code_and_the_phone(
    lang: str, browser: Browser, server: LiveServer, http: httpx.AsyncClient
) -> None:
    """Chosen on the terminal's start screen, the language is on the ticket screen, in the
    QR code's address, and on the ticket page the phone opens."""
    page, _ = await terminal(browser, server, viewport={"width": 1024, "height": 768})
    await expect(page.locator("html")).to_have_attribute("lang", "de")  # the office's own
    await (
        page.locator(f'nav.languages a[hreflang="{"de" if lang == "ls" else lang}"]')
        .filter(has_text=AUTONYMS[lang])
        .click()
    )
    await expect(page.locator("body")).to_have_attribute("data-lang", lang)
    if lang == "uk":
        await screenshot(page, "terminal-uk")
    await page.locator('[data-issue="A"]').click()
    done = page.locator(".terminal-done")
    await expect(done.locator(".ticket-number")).to_have_text("A001")
    qr = done.locator("svg.qr")
    codes = zxingcpp.read_barcodes(Image.open(io.BytesIO(await qr.screenshot())))
    address = codes[0].text
    assert address.endswith(f"?lang={lang}")
    phone = (await http.get(address, headers=HTML)).text
    assert f'data-lang="{lang}"' in phone
    assert "A001" in phone


@pytest.mark.browser
@pytest.mark.parametrize(
    "size", [(360, 740), (1024, 768), (1920, 1080)], ids=["phone", "kiosk", "screen"]
)
async def test_arabic_pages_run_right_to_left_and_nothing_is_cut_off(
    size: tuple[int, int], browser: Browser, server: LiveServer, http: httpx.AsyncClient
) -> None:
    issued = await http.post(
        "/api/v1/locations/sued/tickets", json={"queue": "A"}, headers=auth("reception-sued")
    )
    page = await browser.new_page(viewport={"width": size[0], "height": size[1]})
    for path in ("/?lang=ar", "/locations/sued?lang=ar", issued.json()["url"] + "?lang=ar"):
        await page.goto(server.url + path)
        assert await page.evaluate("getComputedStyle(document.body).direction") == "rtl"
        # Nothing wider than the window: no sideways scrolling, nothing cut off at the edge.
        overflow = await page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, (path, overflow)
    # The ticket number stays readable left to right inside the right-to-left page.
    number = page.locator(".ticket-number, [data-f=number]").first
    await expect(number).to_have_text(re.compile(r"^A\d{3}$"))
    if size == (360, 740):
        await screenshot(page, "ticket-ar-phone", full_page=True)


@pytest.mark.browser
async def test_the_overview_in_leichte_sprache(browser: Browser, server: LiveServer) -> None:
    page = await browser.new_page(viewport={"width": 390, "height": 844})
    await page.goto(server.url + "/?lang=ls")
    await expect(page.locator("html")).to_have_attribute("lang", "de")
    await expect(page.locator("h1")).not_to_have_text("Aktuelle Wartezeiten")
    await screenshot(page, "overview-ls", full_page=True)


@pytest.mark.browser
@pytest.mark.parametrize("lang", CITIZEN_LANGUAGES)
async def test_every_citizen_page_in_every_language_passes_axe(
    lang: str, browser: Browser, server: LiveServer, http: httpx.AsyncClient
) -> None:
    """axe-core, every impact, on a phone: the public pages, the ticket page, booking, the
    status lookup and the accessibility pages, in each shipped language."""
    from axe_playwright_python.async_playwright import Axe

    issued = await http.post(
        "/api/v1/locations/sued/tickets", json={"queue": "A"}, headers=auth("reception-sued")
    )
    page = await browser.new_page(viewport={"width": 390, "height": 844})
    found = []
    for path in (
        "/",
        "/locations/sued",
        issued.json()["url"],
        "/locations/sued/appointments",
        "/status",
        "/barrierefreiheit",
        "/barrierefreiheit/melden",
    ):
        await page.goto(f"{server.url}{path}?lang={lang}")
        results = await Axe().run(page)
        found += [f"{path}: {v['id']} ({v['impact']})" for v in results.response["violations"]]
    assert found == [], found


async def test_the_names_api_gives_every_name_in_every_language_with_german_in_the_gaps(
    redis_server: EmbeddedRedis, redis: Redis, office: Office
) -> None:
    """A terminal or an app shows a Turkish reader the Turkish names the office gave, and
    the German one where it gave none; an unknown location is a 404 problem."""
    sued = office.location_by_id["sued"]
    queue = sued.queues[0].model_copy(update={"names": {"tr": "Karşılama", "ar": "الاستقبال"}})
    # (Validated anew: a copy would keep the office's cached lookups of the old locations.)
    named = Office.model_validate(
        {
            **office.model_dump(),
            "locations": [
                {
                    **sued.model_dump(),
                    "queues": [queue.model_dump(), *[q.model_dump() for q in sued.queues[1:]]],
                }
            ],
        }
    )
    async with (
        live_server(redis_server.url, named) as srv,
        httpx.AsyncClient(base_url=srv.url, timeout=10) as http,
    ):
        r = await http.get("/api/v1/locations/sued/names")
        missing = await http.get("/api/v1/locations/mond/names")
    assert r.status_code == 200, r.text
    body = r.json()
    first = body["queues"][0]
    assert first["id"] == queue.id and set(first["names"]) == set(CITIZEN_LANGUAGES)
    assert first["names"]["tr"] == "Karşılama" and first["names"]["ar"] == "الاستقبال"
    assert first["names"]["uk"] == queue.name and first["names"]["en"] == queue.name_en
    assert body["location"]["names"]["de"] == sued.name
    assert [c["id"] for c in body["counters"]] == [c.id for c in sued.counters]
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
