"""What BITV 2.0 asks of the public pages: from every citizen page, links to the site in
Leichte Sprache, in sign language and to the accessibility statement; the statement from
the office's configuration; a form to report a barrier that needs no personal data, is
limited per address, and whose contact is deleted once the report is handled. A kiosk's
pages lead nowhere off the kiosk."""

from __future__ import annotations

import re

import httpx
from redis.asyncio import Redis

from tests.helpers import (
    OFFICE_PATH,
    TIMEOUT,
    LiveServer,
    auth,
    live_server,
    token,
)
from tests.test_staff import csrf_of
from waitboard.core.office import Office, parse_office
from waitboard.services.limits import Limit, Limits
from waitboard.store import keys
from waitboard.store.embedded import EmbeddedRedis

HTML = {"Accept": "text/html"}
FOOTER_LINKS = ('href="/leichte-sprache', 'href="/gebaerdensprache', 'href="/barrierefreiheit"')
REPORT = "/barrierefreiheit/melden"


def has_footer(html: str) -> bool:
    return all(link in html for link in FOOTER_LINKS)


async def test_every_citizen_page_links_the_bitv_pages(http: httpx.AsyncClient) -> None:
    issued = await http.post(
        "/api/v1/locations/sued/tickets", json={"queue": "A"}, headers=auth("reception-sued")
    )
    citizen = [
        "/",
        "/locations/sued",
        issued.json()["url"],
        "/status",
        "/appointments",
        "/locations/sued/appointments",
        "/barrierefreiheit",
        "/leichte-sprache",
        "/gebaerdensprache",
        REPORT,
        "/locations/nowhere",  # an error page of the public site
    ]
    for path in citizen:
        page = await http.get(path, headers=HTML)
        assert has_footer(page.text), path


async def test_no_kiosk_page_leads_off_the_kiosk(http: httpx.AsyncClient) -> None:
    """The terminal, the lobby screen and the staff pages show none of the links - nor an
    error page that leads back to the terminal."""
    terminal = httpx.AsyncClient(base_url=str(http.base_url), timeout=TIMEOUT)
    async with terminal:
        login = await terminal.get("/staff/login", headers=HTML)
        await terminal.post(
            "/staff/login",
            headers=HTML,
            data={"csrf": csrf_of(login.text), "token": token("terminal-sued"), "next": ""},
        )
        for path in ("/terminal/sued", "/terminal/sued/check-in"):
            page = await terminal.get(path, headers=HTML)
            assert page.status_code == 200, path
            assert "footer" not in page.text and "/barrierefreiheit" not in page.text, path
    for path in ("/screens/sued", "/staff/login"):
        page = await http.get(path, headers=HTML)
        assert "/barrierefreiheit" not in page.text, path


def office_with_statement() -> Office:
    import tomllib

    raw = tomllib.loads(OFFICE_PATH.read_text("utf-8"))
    raw["accessibility"] = {
        "status": "partial",
        "assessed_on": "2026-11-30",
        "known_barriers": ["Die Karte der Standorte hat keine Textfassung."],
        "contact_email": "barrierefrei@jobcenter.example",
        "contact_phone": "0211 123 456",
        "sign_language_video": "https://video.jobcenter.example/dgs.mp4",
        "sign_language_video_mb": 24.5,
        "sign_language_video_length": "3:10",
    }
    return parse_office(raw, "office.toml")


async def test_the_statement_and_the_sign_language_page_come_from_the_configuration(
    redis_server: EmbeddedRedis, redis: Redis
) -> None:
    async with (
        live_server(redis_server.url, office_with_statement()) as srv,
        httpx.AsyncClient(base_url=srv.url, timeout=TIMEOUT) as http,
    ):
        statement = (await http.get("/barrierefreiheit", headers=HTML)).text
        assert "teilweise vereinbar" in statement
        assert "30.11.2026" in statement
        assert "Die Karte der Standorte hat keine Textfassung." in statement
        assert 'href="mailto:barrierefrei@jobcenter.example"' in statement
        assert 'href="tel:0211123456"' in statement
        assert 'href="https://www.schlichtungsstelle-bgg.de"' in statement
        assert 'href="/barrierefreiheit/melden"' in statement
        sign = (await http.get("/gebaerdensprache", headers=HTML)).text
        assert '<video class="sign-video" controls' in sign
        assert 'src="https://video.jobcenter.example/dgs.mp4"' in sign
        assert "download" in sign
        assert "(Länge 3:10 Minuten, 24,5 MB)" in sign


async def test_without_a_video_the_sign_language_page_says_so(http: httpx.AsyncClient) -> None:
    page = (await http.get("/gebaerdensprache", headers=HTML)).text
    assert "<video" not in page
    assert 'data-f="no-video"' in page


async def test_leichte_sprache_is_german_in_easy_words_whatever_the_language(
    http: httpx.AsyncClient,
) -> None:
    page = (await http.get("/leichte-sprache?lang=en", headers=HTML)).text
    assert '<article class="card single easy" lang="de">' in page
    assert "Die Warte·zeit ist geschätzt" in page  # the estimate is said to be one


async def reports(http: httpx.AsyncClient) -> str:
    login = await http.get("/staff/login", headers=HTML)
    await http.post(
        "/staff/login",
        headers=HTML,
        data={"csrf": csrf_of(login.text), "token": token("admin"), "next": ""},
    )
    return (await http.get("/staff/barrier-reports", headers=HTML)).text


async def test_a_report_is_kept_for_the_admin_and_its_contact_goes_when_handled(
    server: LiveServer, redis: Redis
) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as citizen:
        form = await citizen.get(REPORT + "?page=/locations/sued", headers=HTML)
        assert 'value="/locations/sued"' in form.text  # the page it came from, filled in
        sent = await citizen.post(
            REPORT + "?lang=en",
            headers=HTML,
            data={
                "text": "Der Vorlesemodus liest die Wartezeit nicht vor.",
                "page": "/locations/sued",
                "contact": "leser@example.org",
            },
        )
        assert sent.status_code == 200
        assert 'data-f="sent"' in sent.text
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as admin:
        listed = await reports(admin)
        assert "Der Vorlesemodus liest die Wartezeit nicht vor." in listed
        assert "leser@example.org" in listed
        (report_id,) = re.findall(r'data-report="(r_[^"]+)"', listed)
        stored = await redis.hgetall(keys.barrier_report(report_id))
        assert stored[b"lang"] == b"en"
        done = await admin.post(
            f"/staff/barrier-reports/{report_id}/handled",
            headers=HTML,
            data={"csrf": csrf_of(listed)},
        )
        assert done.status_code == 303
        stored = await redis.hgetall(keys.barrier_report(report_id))
        assert b"contact" not in stored
        assert stored[b"handled"] == b"1"
        assert 0 < await redis.ttl(keys.barrier_report(report_id)) <= 365 * 86400
        listed = (await admin.get("/staff/barrier-reports", headers=HTML)).text
        assert "leser@example.org" not in listed
        assert "Der Vorlesemodus liest die Wartezeit nicht vor." in listed


async def test_a_report_that_says_too_little_is_explained_and_not_kept(
    http: httpx.AsyncClient, redis: Redis
) -> None:
    refused = await http.post(
        REPORT, headers=HTML, data={"text": "kaputt", "page": "", "contact": "x@example.org"}
    )
    assert refused.status_code == 422
    assert "mindestens 10 Zeichen" in refused.text
    assert 'aria-invalid="true"' in refused.text
    assert "x@example.org" in refused.text  # what was typed stays for correcting
    assert await redis.zcard(keys.barrier_reports()) == 0
    too_long = await http.post(
        REPORT, headers=HTML, data={"text": "Die Seite ist zu klein.", "contact": "x" * 121}
    )
    assert too_long.status_code == 422
    assert await redis.zcard(keys.barrier_reports()) == 0


async def test_only_the_admin_sees_the_reports(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as anonymous:
        page = await anonymous.get("/staff/barrier-reports", headers=HTML)
        assert page.status_code == 303 and "/staff/login" in page.headers["location"]
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as reception:
        login = await reception.get("/staff/login", headers=HTML)
        await reception.post(
            "/staff/login",
            headers=HTML,
            data={"csrf": csrf_of(login.text), "token": token("reception-sued"), "next": ""},
        )
        page = await reception.get("/staff/barrier-reports", headers=HTML)
        assert page.status_code == 403


async def test_reports_are_limited_per_address_across_processes(
    redis_server: EmbeddedRedis, redis: Redis, office: Office
) -> None:
    limits = Limits(reports=Limit(per_minute=1, burst=3))
    async with (
        live_server(redis_server.url, office, limits=limits) as one,
        live_server(redis_server.url, office, limits=limits) as two,
    ):
        answers = []
        for n in range(5):
            async with httpx.AsyncClient(
                base_url=(one if n % 2 else two).url, timeout=TIMEOUT
            ) as client:
                r = await client.post(
                    REPORT, headers=HTML, data={"text": f"Meldung Nummer {n} zur Seite."}
                )
                answers.append(r.status_code)
        assert answers[:3] == [200, 200, 200]
        assert answers[3:] == [429, 429]
        assert await redis.zcard(keys.barrier_reports()) == 3
