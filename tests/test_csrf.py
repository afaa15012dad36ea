"""CSRF on every staff and kiosk form: without the session's token, or with a wrong one,
a post is refused (403) and changes nothing in Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlencode

import httpx
import pytest
from redis.asyncio import Redis

from tests.helpers import TIMEOUT, LiveServer, auth, dataset, token
from tests.test_staff import csrf_of, log_in
from waitboard.services import tickets as commands

HTML = {"Accept": "text/html"}
FORM = {**HTML, "Content-Type": "application/x-www-form-urlencoded"}
#: The forms posted in each device's session: path -> the fields the page would send
#: (the CSRF field apart). Every POST route of waitboard/staff.py, waitboard/terminal.py and
#: waitboard/application_pages.py.
FORMS: dict[str, dict[str, dict[str, str]]] = {
    "reception-sued": {
        "/staff/sued/reception/tickets": {"queue": "A", "key": "k-issue"},
        "/staff/sued/tickets/{waiting}/cancel": {"key": "k-cancel", "back": "reception"},
        "/staff/sued/tickets/{waiting}/transfer": {
            "queue": "B",
            "key": "k-transfer",
            "back": "reception",
        },
        "/staff/logout": {},
    },
    "counter-sued-1": {
        **{
            f"/staff/sued/counters/1/{kind}": {"key": f"k-{kind}"}
            for kind in commands.COUNTER_COMMANDS
        },
        **{
            f"/staff/sued/counters/1/tickets/{{called}}/{name}": {"key": f"k-{name}", "queue": "B"}
            for name in commands.TICKET_COMMANDS
        },
        "/staff/logout": {},
    },
    "terminal-sued": {
        "/terminal/sued/tickets": {"queue": "A", "key": "k-terminal"},
        "/staff/logout": {},
    },
    # The logout first: it is the one form here that answers with a redirect (creating an
    # application answers with its PIN) and changes Redis even without an application.
    "caseworker": {
        "/staff/logout": {},
        "/staff/applications": {"number": "CSRF-2026-1", "key": "k-create"},
        "/staff/applications/CSRF-2026-1/stage": {"stage": "decided", "key": "k-stage"},
        "/staff/applications/CSRF-2026-1/pin": {"key": "k-pin"},
    },
}
HOME = {
    "reception-sued": "/staff/sued/reception",
    "counter-sued-1": "/staff/sued/counters/1",
    "terminal-sued": "/terminal/sued",
    "caseworker": "/staff/applications",
}


async def post_form(client: httpx.AsyncClient, path: str, fields: dict[str, str]) -> httpx.Response:
    """As a browser posts a form: url-encoded, even when it has no fields at all."""
    return await client.post(path, headers=FORM, content=urlencode(fields).encode())


@pytest.fixture
async def tickets(http: httpx.AsyncClient) -> dict[str, str]:
    """A ticket called at counter 1 and one waiting: something each form could change."""
    await http.post(
        "/api/v1/locations/sued/tickets", json={"queue": "A"}, headers=auth("reception-sued")
    )
    await http.post("/api/v1/locations/sued/counters/1/open", headers=auth("counter-sued-1"))
    called = await http.post(
        "/api/v1/locations/sued/counters/1/call-next", headers=auth("counter-sued-1")
    )
    waiting = await http.post(
        "/api/v1/locations/sued/tickets", json={"queue": "A"}, headers=auth("reception-sued")
    )
    assert called.status_code == 200 and waiting.status_code == 201
    return {"called": called.json()["id"], "waiting": waiting.json()["id"]}


@pytest.fixture
async def other_session_csrf(server: LiveServer) -> AsyncIterator[str]:
    """A valid CSRF token - of another session (what a forging site could get itself)."""
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as other:
        await log_in(other, "reception-sued")
        yield csrf_of((await other.get("/staff/sued/reception", headers=HTML)).text)


@pytest.mark.parametrize("device", list(FORMS))
async def test_every_form_refuses_a_missing_or_wrong_csrf_token(
    server: LiveServer, redis: Redis, tickets: dict[str, str], other_session_csrf: str, device: str
) -> None:
    """Each of the device's forms without the CSRF field, with a forged one and with
    another session's: 403 with the 'form expired' message, Redis unchanged, still
    logged in; with the page's own token the same form works."""
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as desk:
        assert (await log_in(desk, device)).status_code == 303
        own = csrf_of((await desk.get(HOME[device], headers=HTML)).text)
        before = await dataset(redis)
        for template, fields in FORMS[device].items():
            path = template.format(**tickets)
            for csrf in (None, "", "forged", other_session_csrf):
                data = fields if csrf is None else {**fields, "csrf": csrf}
                r = await post_form(desk, path, data)
                assert r.status_code == 403, (path, csrf, r.status_code)
                assert "Formular ist abgelaufen" in r.text, (path, csrf)
                assert await dataset(redis) == before, (path, csrf)
        assert (await desk.get(HOME[device], headers=HTML)).status_code == 200  # not logged out
        first = next(iter(FORMS[device]))
        r = await post_form(desk, first.format(**tickets), {**FORMS[device][first], "csrf": own})
        # (Staff forms answer with a redirect; the terminal's press with the ticket screen.)
        assert r.status_code in (200, 303) and await dataset(redis) != before


async def test_login_refuses_a_missing_or_wrong_csrf_token(
    server: LiveServer, redis: Redis, other_session_csrf: str
) -> None:
    """The login form without its CSRF token, with a forged one or another session's:
    403, no session, Redis unchanged."""
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as visitor:
        own = csrf_of((await visitor.get("/staff/login", headers=HTML)).text)
        before = await dataset(redis)
        fields = {"token": token("reception-sued"), "next": ""}
        for csrf in (None, "", "forged", other_session_csrf):
            data = fields if csrf is None else {**fields, "csrf": csrf}
            r = await post_form(visitor, "/staff/login", data)
            assert r.status_code == 403 and "Formular ist abgelaufen" in r.text, csrf
            assert await dataset(redis) == before
            assert (await visitor.get("/staff/sued/reception", headers=HTML)).status_code == 303
        r = await post_form(visitor, "/staff/login", {**fields, "csrf": own})
        assert r.status_code == 303 and r.headers["location"] == "/staff/sued/reception"
