"""Staff pages over HTTP: login and sessions, CSRF, who may open what, forms that act once."""

from __future__ import annotations

import re
from dataclasses import replace as dc_replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.helpers import (
    TIMEOUT,
    LiveServer,
    SettableClock,
    auth,
    get_when,
    live_server,
    settings_for,
    token,
    waiting,
)
from waitboard.app import create_app
from waitboard.pages import qr
from waitboard.store import keys

HTML = {"Accept": "text/html"}


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field in the page"
    return found.group(1)


async def log_in(http: httpx.AsyncClient, device: str) -> httpx.Response:
    page = await http.get("/staff/login", headers=HTML)
    return await http.post(
        "/staff/login",
        headers=HTML,
        data={"csrf": csrf_of(page.text), "token": token(device), "next": ""},
    )


@pytest.fixture
async def browser_http(server: LiveServer) -> httpx.AsyncClient:
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as client:
        yield client


async def test_login_sets_a_strict_httponly_session(browser_http: httpx.AsyncClient) -> None:
    """The right token logs in: a signed cookie, HttpOnly, SameSite=Strict, with an expiry."""
    r = await log_in(browser_http, "reception-sued")
    assert r.status_code == 303 and r.headers["location"] == "/staff/sued/reception"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("waitboard_session=")
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
    assert "max-age=" in cookie.lower()
    assert token("reception-sued") not in cookie
    page = await browser_http.get("/staff/sued/reception", headers=HTML)
    assert page.status_code == 200 and "Empfang" in page.text


async def test_wrong_token_is_refused_without_a_session(browser_http: httpx.AsyncClient) -> None:
    """A wrong token: 401, the form again with a message, and still no access."""
    page = await browser_http.get("/staff/login", headers=HTML)
    r = await browser_http.post(
        "/staff/login",
        headers=HTML,
        data={"csrf": csrf_of(page.text), "token": "guessed", "next": ""},
    )
    assert r.status_code == 401 and "nicht bekannt" in r.text
    assert (await browser_http.get("/staff/sued/reception", headers=HTML)).status_code == 303


async def test_each_role_lands_on_its_page(browser_http: httpx.AsyncClient) -> None:
    """After login: counter -> its counter, terminal -> the terminal, admin -> the chooser."""
    for device, home in (
        ("counter-sued-2", "/staff/sued/counters/2"),
        ("terminal-sued", "/terminal/sued"),
        ("admin", "/staff"),
        ("display-sued", "/screens/sued"),
    ):
        browser_http.cookies.clear()
        r = await log_in(browser_http, device)
        assert r.headers["location"] == home, device


async def test_the_admin_chooser_leads_to_every_staff_page(
    browser_http: httpx.AsyncClient,
) -> None:
    """The admin's start page links each location's reception, counters, statistics and
    call display, and every link opens."""
    await log_in(browser_http, "admin")
    page = await browser_http.get("/staff", headers=HTML)
    links = re.findall(r'<li><a href="(/(?:staff|screens)/[^"]+)">', page.text)
    for path in (
        "/staff/sued/reception",
        "/staff/sued/counters/2",
        "/staff/sued/stats",
        "/screens/sued",
        "/staff/nord/stats",
        "/staff/applications",
    ):
        assert path in links, path
    for path in links:
        assert (await browser_http.get(path, headers=HTML)).status_code == 200, path
    assert "Aufrufanzeige im Wartebereich" in page.text


async def test_staff_pages_need_a_login(browser_http: httpx.AsyncClient) -> None:
    """Without a session every staff page sends to the login, and back afterwards."""
    for path in ("/staff/sued/reception", "/staff/sued/counters/1", "/terminal/sued"):
        r = await browser_http.get(path, headers=HTML)
        assert r.status_code == 303
        assert r.headers["location"] == f"/staff/login?next={path}"
    page = await browser_http.get("/staff/login?next=/staff/sued/counters/1", headers=HTML)
    r = await browser_http.post(
        "/staff/login",
        headers=HTML,
        data={
            "csrf": csrf_of(page.text),
            "token": token("counter-sued-1"),
            "next": "/staff/sued/counters/1",
        },
    )
    assert r.headers["location"] == "/staff/sued/counters/1"


async def test_no_open_redirect_after_login(browser_http: httpx.AsyncClient) -> None:
    """next=//evil.example is ignored: the device goes to its own page."""
    page = await browser_http.get("/staff/login", headers=HTML)
    r = await browser_http.post(
        "/staff/login",
        headers=HTML,
        data={
            "csrf": csrf_of(page.text),
            "token": token("reception-sued"),
            "next": "//evil.example/",
        },
    )
    assert r.headers["location"] == "/staff/sued/reception"


@pytest.mark.parametrize(
    ("device", "path"),
    [
        ("counter-sued-1", "/staff/sued/reception"),
        ("counter-sued-1", "/staff/sued/counters/2"),
        ("reception-sued", "/staff/nord/reception"),
        ("terminal-sued", "/staff/sued/counters/1"),
    ],
)
async def test_devices_only_open_their_own_pages(
    browser_http: httpx.AsyncClient, device: str, path: str
) -> None:
    """A counter cannot open the reception or another counter; nobody another location."""
    await log_in(browser_http, device)
    r = await browser_http.get(path, headers=HTML)
    assert r.status_code == 403
    assert "darf das nicht" in r.text and "Traceback" not in r.text


async def test_form_without_csrf_is_refused(browser_http: httpx.AsyncClient) -> None:
    """A post without (or with a wrong) CSRF token is refused with 403 and changes nothing."""
    await log_in(browser_http, "reception-sued")
    for data in ({"queue": "A"}, {"queue": "A", "csrf": "forged"}):
        r = await browser_http.post("/staff/sued/reception/tickets", headers=HTML, data=data)
        assert r.status_code == 403 and "abgelaufen" in r.text
    snap = (await browser_http.get("/api/v1/locations/sued")).json()
    assert waiting(snap) == {"A": 0, "B": 0}


async def test_login_form_needs_its_csrf_token_too(browser_http: httpx.AsyncClient) -> None:
    """Login without the form's CSRF token is refused (no login from other sites)."""
    r = await browser_http.post(
        "/staff/login", headers=HTML, data={"token": token("reception-sued")}
    )
    assert r.status_code == 403


async def test_a_double_click_issues_one_ticket(browser_http: httpx.AsyncClient) -> None:
    """The same rendered issue form posted twice gives the same ticket."""
    await log_in(browser_http, "reception-sued")
    page = await browser_http.get("/staff/sued/reception", headers=HTML)
    key = re.search(
        r'name="queue" value="A">\s*<input type="hidden" name="key" value="([^"]+)"', page.text
    )
    assert key
    form = {"csrf": csrf_of(page.text), "queue": "A", "key": key.group(1)}
    first = await browser_http.post("/staff/sued/reception/tickets", headers=HTML, data=form)
    second = await browser_http.post("/staff/sued/reception/tickets", headers=HTML, data=form)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    await get_when(
        browser_http,
        "/api/v1/locations/sued",
        lambda r: waiting(r.json()) == {"A": 1, "B": 0},
        "exactly one ticket",
    )


async def test_counter_errors_come_back_as_a_message(browser_http: httpx.AsyncClient) -> None:
    """Calling at a closed counter: back to the page with a German explanation."""
    await log_in(browser_http, "counter-sued-1")
    page = await browser_http.get("/staff/sued/counters/1", headers=HTML)
    r = await browser_http.post(
        "/staff/sued/counters/1/call-next", headers=HTML, data={"csrf": csrf_of(page.text)}
    )
    assert r.status_code == 303
    again = await browser_http.get(r.headers["location"], headers=HTML)
    assert "Der Schalter ist geschlossen" in again.text


def actions_of(html: str) -> list[str]:
    """Where a page's POST forms send to."""
    return re.findall(r'<form method="post" action="([^"]+)"', html)


async def test_an_english_staff_page_stays_english_after_its_actions(
    browser_http: httpx.AsyncClient, http: httpx.AsyncClient
) -> None:
    """Every form on the English counter and reception pages posts with lang=en, so the
    page it leads back to is English too (open, call, transfer, cancel, logout)."""
    await log_in(browser_http, "counter-sued-1")
    page = await browser_http.get("/staff/sued/counters/1?lang=en", headers=HTML)
    assert actions_of(page.text) and all(a.endswith("?lang=en") for a in actions_of(page.text))
    opened = await browser_http.post(
        "/staff/sued/counters/1/open?lang=en", headers=HTML, data={"csrf": csrf_of(page.text)}
    )
    assert opened.headers["location"] == "/staff/sued/counters/1?lang=en"
    r = await http.post(
        "/api/v1/locations/sued/tickets", json={"queue": "A"}, headers=auth("terminal-sued")
    )
    assert r.status_code == 201
    page = await browser_http.get(opened.headers["location"], headers=HTML)
    assert "Call next" in page.text
    assert all(a.endswith("?lang=en") for a in actions_of(page.text)), actions_of(page.text)

    browser_http.cookies.clear()
    await log_in(browser_http, "reception-sued")
    page = await browser_http.get("/staff/sued/reception?lang=en", headers=HTML)
    actions = actions_of(page.text)
    assert any("/cancel" in a for a in actions) and any("/transfer" in a for a in actions)
    assert all(a.endswith("?lang=en") for a in actions), actions


async def at_counter_1(desk: httpx.AsyncClient, http: httpx.AsyncClient) -> dict[str, Any]:
    """Counter 1's page logged in, the counter open and a ticket called to it (returned)."""
    await log_in(desk, "counter-sued-1")
    await http.post("/api/v1/locations/sued/counters/1/open", headers=auth("counter-sued-1"))
    await http.post(
        "/api/v1/locations/sued/tickets", json={"queue": "A"}, headers=auth("terminal-sued")
    )
    called = await http.post(
        "/api/v1/locations/sued/counters/1/call-next", headers=auth("counter-sued-1")
    )
    assert called.status_code == 200
    return dict(called.json())


async def test_a_counter_with_someone_at_it_offers_no_close(
    browser_http: httpx.AsyncClient, http: httpx.AsyncClient
) -> None:
    """While a ticket is at the counter the page says closing comes after it, instead of
    a button that would only be refused; once it is done, the button is back."""
    called = await at_counter_1(browser_http, http)
    page = await browser_http.get("/staff/sued/counters/1", headers=HTML)
    assert not any(a.endswith("/close") for a in actions_of(page.text))
    assert "Schließen können Sie, wenn das aktuelle Ticket erledigt ist." in page.text
    await http.post(f"/api/v1/tickets/{called['id']}/no-show", headers=auth("counter-sued-1"))
    page = await browser_http.get("/staff/sued/counters/1", headers=HTML)
    assert any(a.endswith("/close") for a in actions_of(page.text))


async def test_a_ticket_action_says_what_it_did_to_which_ticket(
    browser_http: httpx.AsyncClient, http: httpx.AsyncClient
) -> None:
    """After a recall the counter page says "A001 erneut aufgerufen.", after starting
    "Bedienung von A001 begonnen." - not a bare "Erledigt." that reads as finished."""
    ticket = await at_counter_1(browser_http, http)
    for action, says in (
        ("recall", f"{ticket['number']} erneut aufgerufen."),
        ("start", f"Bedienung von {ticket['number']} begonnen."),
    ):
        page = await browser_http.get("/staff/sued/counters/1", headers=HTML)
        r = await browser_http.post(
            f"/staff/sued/counters/1/tickets/{ticket['id']}/{action}",
            headers=HTML,
            data={"csrf": csrf_of(page.text)},
        )
        assert r.status_code == 303
        shown = await browser_http.get(r.headers["location"], headers=HTML)
        assert says in shown.text, action


async def test_printed_ticket_has_number_estimate_and_qr(
    browser_http: httpx.AsyncClient, http: httpx.AsyncClient
) -> None:
    """The print page: number, service, estimate, time and a QR code to the ticket."""
    ticket = (
        await http.post(
            "/api/v1/locations/sued/tickets", json={"queue": "A"}, headers=auth("reception-sued")
        )
    ).json()
    await log_in(browser_http, "reception-sued")
    r = await browser_http.get(f"/staff/sued/tickets/{ticket['id']}/print", headers=HTML)
    assert r.status_code == 200
    assert ticket["number"] in r.text and "Eingangszone" in r.text
    assert '<svg role="img"' in r.text and 'class="qr"' in r.text
    assert "Wartezeit" in r.text


async def test_public_pages_set_no_cookie(http: httpx.AsyncClient) -> None:
    """Visitors of the public pages get no cookie at all."""
    for path in ("/", "/locations/sued", "/screens/sued"):
        r = await http.get(path, headers=HTML)
        assert "set-cookie" not in r.headers, path


async def test_logout_ends_the_session(browser_http: httpx.AsyncClient) -> None:
    """After logout the staff pages ask for a login again."""
    await log_in(browser_http, "reception-sued")
    page = await browser_http.get("/staff/sued/reception", headers=HTML)
    r = await browser_http.post("/staff/logout", headers=HTML, data={"csrf": csrf_of(page.text)})
    assert r.status_code == 303
    assert (await browser_http.get("/staff/sued/reception", headers=HTML)).status_code == 303


async def test_pages_answer_errors_as_pages_and_the_api_as_problems(
    http: httpx.AsyncClient,
) -> None:
    """An unknown page is an HTML 404 in German; the API stays problem+json."""
    page = await http.get("/locations/west", headers=HTML)
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "Das hat nicht geklappt" in page.text
    api = await http.get("/api/v1/locations/west", headers=HTML)
    assert api.headers["content-type"] == "application/problem+json"


async def test_a_copied_cookie_is_worthless_after_logout(server: LiveServer) -> None:
    """Logging out ends the session on the server: a copy of the cookie no longer works."""
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as desk:
        await log_in(desk, "reception-sued")
        copied = dict(desk.cookies)
        page = await desk.get("/staff/sued/reception", headers=HTML)
        await desk.post("/staff/logout", headers=HTML, data={"csrf": csrf_of(page.text)})
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT, cookies=copied) as thief:
        r = await thief.get("/staff/sued/reception", headers=HTML)
        assert r.status_code == 303 and r.headers["location"].startswith("/staff/login")


async def test_printed_qr_code_uses_the_public_url(redis_server, redis, office) -> None:
    """With WAITBOARD_PUBLIC_URL the QR code leads there, whatever Host the kiosk used."""
    settings = dc_replace(
        settings_for(redis_server.url), public_url="https://wartezeiten.example.de"
    )
    app = create_app(settings, office=office)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://internal-kiosk-name") as client,
    ):
        ticket = (
            await client.post(
                "/api/v1/locations/sued/tickets",
                json={"queue": "A"},
                headers=auth("reception-sued"),
            )
        ).json()
        await log_in(client, "reception-sued")
        page = await client.get(f"/staff/sued/tickets/{ticket['id']}/print", headers=HTML)
    expected = qr.svg("https://wartezeiten.example.de" + ticket["url"], "")
    drawn = re.search(r'<path[^>]*d="([^"]+)"', page.text.split('class="qr"', 1)[1])
    assert drawn and drawn.group(1) in expected  # the same modules as the public URL's code


async def test_errors_are_pages_for_browsers_and_links_stay_on_this_site(
    browser_http: httpx.AsyncClient,
) -> None:
    """405 answers a browser with a page; a '//other.host' path yields no off-site link."""
    r = await browser_http.get("/staff/logout", headers=HTML)
    assert r.status_code == 405 and r.headers["content-type"].startswith("text/html")
    r = await browser_http.get("//evil.example/x", headers=HTML)
    assert r.status_code == 404
    assert 'href="//' not in r.text


async def test_corrupt_data_gives_a_500_without_a_trace_and_with_headers(
    http: httpx.AsyncClient, redis
) -> None:
    """Broken data in Redis: 500 problem+json (or a page), logged, with security headers."""
    ticket = (
        await http.post(
            "/api/v1/locations/sued/tickets", json={"queue": "A"}, headers=auth("reception-sued")
        )
    ).json()
    await redis.hset(keys.ticket("sued", ticket["id"]), "status", "exploded")
    api = await http.get(f"/api/v1/tickets/{ticket['id']}")
    assert api.status_code == 500 and api.headers["content-type"] == "application/problem+json"
    assert "Traceback" not in api.text and api.headers["x-content-type-options"] == "nosniff"
    page = await http.get(ticket["url"], headers=HTML)
    assert page.status_code == 500 and "schiefgegangen" in page.text
    assert "frame-ancestors" in page.headers["content-security-policy"]


def table_names(html: str) -> list[str | None]:
    """Each table's accessible name: the element its aria-labelledby names, else its
    caption (None: it has neither); a caption that repeats a heading of the page counts
    as no name, since a screen reader would read the same words twice."""
    headings = {re.sub(r"<[^>]+>", "", h).strip() for h in re.findall(r"<h2[^>]*>(.*?)</h2>", html)}
    names: list[str | None] = []
    for attrs, body in re.findall(r"<table([^>]*)>(.*?)</table>", html, re.S):
        by = re.search(r'aria-labelledby="([^"]+)"', attrs)
        caption = re.search(r"<caption[^>]*>(.*?)</caption>", body, re.S)
        if by:
            named = re.search(rf'id="{by.group(1)}"[^>]*>(.*?)</', html)
            names.append(named.group(1).strip() if named else None)
        elif caption and caption.group(1).strip() not in headings:
            names.append(caption.group(1).strip())
        else:
            names.append(None)
    return names


async def test_every_table_has_a_name_read_once(redis_server, redis, office) -> None:
    """Tables on the public location page and the reception and counter pages are named
    by the heading above them (or a caption where there is none), never both."""
    async with live_server(redis_server.url, office) as srv:
        async with httpx.AsyncClient(base_url=srv.url, timeout=TIMEOUT) as public:
            pages = [(await public.get("/locations/sued", headers=HTML)).text]
            pages.append((await public.get("/", headers=HTML)).text)
        for device, path in (
            ("reception-sued", "/staff/sued/reception"),
            ("counter-sued-1", "/staff/sued/counters/1"),
        ):
            async with httpx.AsyncClient(base_url=srv.url, timeout=TIMEOUT) as desk:
                await log_in(desk, device)
                pages.append((await desk.get(path, headers=HTML)).text)
    for html in pages:
        names = table_names(html)
        assert names and None not in names, names


async def test_terminal_buttons_say_how_many_people_wait(redis_server, redis, office) -> None:
    """A terminal's buttons read "1 wartet" and "0 warten", in English "1 waiting" -
    never "1 Wartende"."""
    async with (
        live_server(redis_server.url, office) as srv,
        httpx.AsyncClient(base_url=srv.url, timeout=TIMEOUT) as kiosk,
    ):
        await log_in(kiosk, "terminal-sued")
        await kiosk.post(
            "/api/v1/locations/sued/tickets", json={"queue": "A"}, headers=auth("terminal-sued")
        )
        start = await kiosk.get("/terminal/sued", headers=HTML)
        lines = re.findall(r'data-f="wait-line">([^<]*)<', start.text)
        assert [line.split(" · ")[1] for line in lines] == ["1 wartet", "0 warten"]
        english = await kiosk.get("/terminal/sued?lang=en", headers=HTML)
        assert "· 1 waiting<" in english.text


async def test_terminal_ticket_page_is_gone_after_two_minutes(redis_server, redis, office) -> None:
    """The next person cannot page back to the previous person's ticket."""

    clock = SettableClock(datetime.now(UTC))
    async with (
        live_server(redis_server.url, office, clock=clock) as srv,
        httpx.AsyncClient(base_url=srv.url, timeout=TIMEOUT) as kiosk,
    ):
        await log_in(kiosk, "terminal-sued")
        start = await kiosk.get("/terminal/sued", headers=HTML)
        key = re.search(
            r'name="queue" value="A">\s*<input type="hidden" name="key" '
            r'value="([^"]+)"',
            start.text,
        )
        assert key
        r = await kiosk.post(
            "/terminal/sued/tickets",
            headers=HTML,
            data={"csrf": csrf_of(start.text), "queue": "A", "key": key.group(1)},
        )
        assert r.status_code == 200 and "A001" in r.text  # the press's answer: the ticket
        address = re.search(r'data-here="([^"]+)"', r.text)
        assert address and address.group(1).startswith("/terminal/sued/tickets/t_sued_")
        shown = await kiosk.get(address.group(1), headers=HTML)  # a reload of the kiosk
        assert shown.status_code == 200 and "A001" in shown.text
        clock.now += timedelta(minutes=3)
        later = await kiosk.get(address.group(1), headers=HTML)
        assert later.status_code == 303 and later.headers["location"] == "/terminal/sued"
