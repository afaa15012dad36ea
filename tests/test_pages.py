"""Pages rendered on the server: the current numbers without JavaScript, German and English."""

from __future__ import annotations

import re

import httpx

from tests.helpers import auth, get_when, waiting


async def seed(http: httpx.AsyncClient) -> dict:
    for queue in ("A", "A", "B"):
        r = await http.post(
            "/api/v1/locations/sued/tickets", json={"queue": queue}, headers=auth("reception-sued")
        )
        assert r.status_code == 201
    await http.post("/api/v1/locations/sued/counters/1/open", headers=auth("counter-sued-1"))
    r = await http.post(
        "/api/v1/locations/sued/counters/1/call-next", headers=auth("counter-sued-1")
    )
    # Pages render the hub's live view: wait until it has taken in these changes.
    await get_when(
        http,
        "/api/v1/locations/sued",
        lambda s: waiting(s.json()) == {"A": 1, "B": 1} and bool(s.json()["calls"]),
        "the seeded state",
    )
    return r.json()


def cell(html: str, queue: str, field: str) -> str:
    row = re.search(rf'<tr data-queue="{queue}">(.*?)</tr>', html, re.S)
    assert row, f"no row for queue {queue}"
    value = re.search(rf'data-f="{field}">([^<]*)<', row.group(1))
    assert value, f"no {field} in row {queue}"
    return value.group(1).strip()


async def test_overview_shows_every_location_and_its_numbers(http: httpx.AsyncClient) -> None:
    """/ lists the locations with waiting counts as plain HTML, in German by default."""
    await seed(http)
    r = await http.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert '<html lang="de">' in r.text
    assert "Jobcenter Süd" in r.text and "Jobcenter Nord" in r.text
    assert cell(r.text, "B", "waiting") == "1"


async def test_location_page_in_english(http: httpx.AsyncClient) -> None:
    """?lang=en switches the language and the names."""
    await seed(http)
    r = await http.get("/locations/sued?lang=en")
    assert '<html lang="en">' in r.text and "Job centre South" in r.text
    assert "Waiting" in r.text and cell(r.text, "A", "waiting") == "1"


async def test_lobby_screen_shows_the_latest_call(http: httpx.AsyncClient) -> None:
    """/screens/X shows the newest call large: number and counter name."""
    called = await seed(http)
    r = await http.get("/screens/sued")
    assert r.status_code == 200
    assert f'data-f="number">{called["number"]}<' in r.text
    assert 'data-f="counter">Schalter 1<' in r.text


async def test_screen_queue_filter(http: httpx.AsyncClient) -> None:
    """?queues=B shows only queue B."""
    await seed(http)
    r = await http.get("/screens/sued?queues=B")
    assert 'data-queue="B"' in r.text and 'data-queue="A"' not in r.text


async def test_ticket_page_shows_status_and_position(http: httpx.AsyncClient) -> None:
    """/tickets/T shows the number, that it waits and its position."""
    await seed(http)
    r = await http.post(
        "/api/v1/locations/sued/tickets", json={"queue": "A"}, headers=auth("reception-sued")
    )
    ticket = r.json()
    page = await http.get(ticket["url"])
    assert page.status_code == 200
    assert ticket["number"] in page.text and "Sie warten" in page.text
    assert f'data-f="ahead">{ticket["position"] - 1}<' in page.text  # people ahead


async def test_a_called_ticket_names_its_counter_in_the_pages_language(
    http: httpx.AsyncClient,
) -> None:
    """The called ticket's page says where to go: "Schalter 1" in German, "Counter 1" in
    English - also without JavaScript."""
    called = await seed(http)
    page = await http.get(called["url"])
    assert "Bitte zu Schalter 1" in page.text
    page = await http.get(called["url"] + "?lang=en")
    assert "Please go to Counter 1" in page.text and "Schalter 1" not in page.text


async def test_unknown_things_are_404(http: httpx.AsyncClient) -> None:
    """Unknown locations and tickets are a 404, not an error page with a trace; only a
    ticket's says how long tickets can be seen."""
    for path in ("/locations/west", "/screens/west", "/tickets/t_sued_AAAAAAAAAAAAAAAAAAAAAA"):
        r = await http.get(path, headers={"Accept": "text/html"})
        assert r.status_code == 404, path
        assert "Traceback" not in r.text
        message = re.search(r'<p role="alert">([^<]*)</p>', r.text)
        assert message, path
        if path.startswith("/tickets/"):
            assert "bis zwei Tage nach ihrem Ende" in message.group(1)
        else:
            assert message.group(1).endswith("Bitte prüfen Sie die Adresse."), path


async def test_static_files_are_served(http: httpx.AsyncClient) -> None:
    """The JS module and the stylesheet load."""
    assert (await http.get("/static/live.js")).status_code == 200
    assert (await http.get("/static/style.css")).status_code == 200
