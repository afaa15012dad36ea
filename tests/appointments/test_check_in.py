"""Check-in with a booking code: on time, early, late, twice, on another day, by the terminal
form and the reception's page."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.appointments.support import (
    CHECK_IN,
    HTML,
    TUESDAY,
    UNKNOWN_CODE,
    Env,
    appointment,
    bare,
    book,
    check_in,
    issue,
    log_in,
    problem,
    slot,
)
from tests.helpers import (
    TIMEOUT,
    auth,
    dataset,
    get_when,
    queue_of,
)
from tests.test_staff import csrf_of


async def test_check_in_on_time_gives_an_appointment_ticket(env: Env) -> None:
    """Within the window (from 30 minutes before to 10 after): a ticket in T for the slot."""
    code = (await book(env.http, slot("08:40")))["code"]
    env.at("08:10")  # the window opens now, to the minute
    r = await check_in(env.http, code)
    assert r.status_code == 201, r.text
    ticket = r.json()
    assert ticket["queue"] == "T" and ticket["number"] == "T001"
    assert ticket["status"] == "waiting" and ticket["position"] == 1
    assert ticket["late"] is False
    assert ticket["appointment_at"] == "2026-11-30T08:40:00+01:00"
    assert r.headers["location"] == ticket["url"]
    booking = await appointment(env.http, code)
    assert booking["status"] == "arrived" and booking["ticket_number"] == "T001"
    assert booking["ticket_id"] == ticket["id"] and booking["late"] is False
    page = await env.http.get(ticket["url"], headers=HTML)
    assert page.status_code == 200 and "Termin um 08:40 Uhr" in page.text


async def test_check_in_at_the_last_on_time_minute_is_on_time(env: Env) -> None:
    """Ten minutes after the slot's start is still on time."""
    code = (await book(env.http, slot("08:40")))["code"]
    env.at("08:50")
    r = await check_in(env.http, code)
    assert r.status_code == 201 and r.json()["queue"] == "T" and r.json()["late"] is False


async def test_check_in_too_early_changes_nothing(env: Env) -> None:
    """Before the window opens: 409 booking_too_early saying when it opens; Redis unchanged."""
    code = (await book(env.http, slot("08:40")))["code"]
    env.at("08:09")
    before = await dataset(env.redis)
    body = problem(await check_in(env.http, code), 409, "booking_too_early", says="opens at 08:10")
    assert body["opens"] == "08:10" and body["time"] == "08:40"
    assert await dataset(env.redis) == before, "a refused check-in changed Redis"
    assert (await appointment(env.http, code))["status"] == "booked"


async def test_late_check_in_waits_without_appointment(env: Env) -> None:
    """More than 10 minutes late: a ticket in the walk-in queue A, marked late, and its
    public page says the person came late."""
    code = (await book(env.http, slot("08:40")))["code"]
    walk_in = await issue(env.http, "A")
    env.at("08:51")
    r = await check_in(env.http, code)
    assert r.status_code == 201, r.text
    ticket = r.json()
    assert ticket["queue"] == "A" and ticket["number"] == "A002"
    assert ticket["late"] is True and ticket["appointment_at"] == "2026-11-30T08:40:00+01:00"
    assert ticket["position"] == 2, "a late arrival queues behind the walk-ins already there"
    api = await env.http.get(f"/api/v1/tickets/{ticket['id']}")
    assert api.status_code == 200 and api.json()["late"] is True
    page = await env.http.get(ticket["url"], headers=HTML)
    assert page.status_code == 200
    assert (
        "Ihr Termin war um 08:40 Uhr. Sie kamen später und warten jetzt ohne Termin." in page.text
    )
    booking = await appointment(env.http, code)
    assert booking["status"] == "arrived" and booking["late"] is True
    assert booking["ticket_number"] == "A002"
    assert walk_in["number"] == "A001"


async def test_checking_in_twice_gives_the_same_ticket(env: Env) -> None:
    """A second check-in (any device) answers 200 with the same ticket; no second number."""
    code = (await book(env.http, slot("08:40")))["code"]
    env.at("08:30")
    first = await check_in(env.http, code)
    assert first.status_code == 201, first.text
    for device in ("terminal-sued", "reception-sued", "counter-sued-2", "admin"):
        again = await check_in(env.http, code, device)
        assert again.status_code == 200, again.text
        assert again.json()["id"] == first.json()["id"]
        assert again.json()["number"] == "T001"
    snap = await get_when(
        env.http,
        "/api/v1/locations/sued",
        lambda r: queue_of(r.json(), "T")["waiting"] >= 1,
        "T001 waiting",
    )
    assert queue_of(snap.json(), "T")["waiting"] == 1
    # The next check-in gets the next number: no number was used up by the repeats.
    other = (await book(env.http, slot("09:20")))["code"]
    env.at("08:55")
    assert (await check_in(env.http, other)).json()["number"] == "T002"


async def test_check_in_on_another_day_is_refused(env: Env) -> None:
    """A booking for tomorrow checked in today: 409 booking_other_day naming its day."""
    code = (await book(env.http, slot("09:00", TUESDAY)))["code"]
    env.at("08:45")
    before = await dataset(env.redis)
    body = problem(
        await check_in(env.http, code), 409, "booking_other_day", says="2026-12-01 at 09:00"
    )
    assert body["date"] == "01.12.2026"
    assert await dataset(env.redis) == before
    env.at("08:45", TUESDAY)
    assert (await check_in(env.http, code)).status_code == 201


async def test_check_in_after_the_booking_day_does_not_ask_to_come_back(env: Env) -> None:
    """A booking of a day that has passed, checked in: refused (409), without telling the
    person to come back on a day that is over."""
    code = (await book(env.http, slot("09:00")))["code"]
    env.at("08:45", TUESDAY)
    body = problem(await check_in(env.http, code), 409)
    assert "come back" not in body["detail"], body["detail"]
    assert (await appointment(env.http, code))["status"] == "booked"


async def test_check_in_by_another_location_or_role_is_forbidden(env: Env) -> None:
    """The terminal of Nord cannot check in at Süd (403); a display cannot at all (403);
    a Süd code at Nord's terminal says where the appointment is (404)."""
    code = (await book(env.http, slot("08:40")))["code"]
    env.at("08:30")
    before = await dataset(env.redis)
    problem(await check_in(env.http, code, "terminal-nord"), 403, says="location nord")
    problem(await check_in(env.http, code, "display-sued"), 403, says="role display")
    r = await env.http.post(CHECK_IN, json={"code": code})
    problem(r, 401)
    problem(
        await check_in(env.http, code, "terminal-nord", location="nord"),
        404,
        "booking_elsewhere",
        says="Jobcenter Süd",
    )
    assert await dataset(env.redis) == before


async def test_check_in_of_an_unknown_or_malformed_code(env: Env) -> None:
    """A code nobody booked: 404; not a code at all: 422 with an example of one."""
    env.at("08:30")
    before = await dataset(env.redis)
    problem(await check_in(env.http, UNKNOWN_CODE), 404, "booking_not_found")
    for text in ("K7QM-4XP", "K7QM-4XPAB", "O0IL-1111", "hello", "K7QM/4XPA"):
        problem(await check_in(env.http, text), 422, says="eight letters and digits")
    assert await dataset(env.redis) == before


@pytest.mark.parametrize(
    "typed",
    [
        "{lower} ",
        "  {lower_spaced}  ",
        "{bare}",
        "{url}",
        "{url}/",
        "{url}?new=1",
    ],
    ids=[
        "lower case",
        "lower case with spaces",
        "without dash",
        "whole url",
        "url with slash",
        "url with query",
    ],
)
async def test_check_in_takes_the_code_as_typed_or_scanned(env: Env, typed: str) -> None:
    """A code typed in lower case, with spaces, without dash, or scanned as the whole
    address from the QR code checks in."""
    code = (await book(env.http, slot("08:40")))["code"]
    env.at("08:30")
    text = typed.format(
        lower=code.lower(),
        lower_spaced=code.lower().replace("-", " "),
        bare=bare(code),
        url=f"https://wartezeiten.example.de/appointments/{code}",
    )
    r = await check_in(env.http, text)
    assert r.status_code == 201, r.text
    assert r.json()["queue"] == "T"


async def test_check_in_with_an_idempotency_key_replays(env: Env) -> None:
    """A device that retries its check-in under its key gets the 201 again, replayed."""
    code = (await book(env.http, slot("08:40")))["code"]
    env.at("08:30")
    headers = {**auth("terminal-sued"), "Idempotency-Key": "scan-1"}
    first = await env.http.post(CHECK_IN, json={"code": code}, headers=headers)
    again = await env.http.post(CHECK_IN, json={"code": code}, headers=headers)
    assert first.status_code == again.status_code == 201, (first.text, again.text)
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json()["id"] == first.json()["id"]


async def test_the_terminal_form_checks_in_and_shows_the_ticket(env: Env) -> None:
    """The terminal's check-in screen: on time its answer is the ticket screen (the same
    one for a double tap); too early it is the check-in screen with the reason in German
    and the code kept for correcting."""
    early = (await book(env.http, slot("10:00")))["code"]
    code = (await book(env.http, slot("08:40")))["code"]
    env.at("08:30")
    async with httpx.AsyncClient(base_url=env.url, timeout=TIMEOUT) as kiosk:
        await log_in(kiosk, "terminal-sued")
        start = await kiosk.get("/terminal/sued", headers=HTML)
        assert start.status_code == 200
        assert 'href="/terminal/sued/check-in"' in start.text
        page = await kiosk.get("/terminal/sued/check-in", headers=HTML)
        key = re.search(
            r'action="/terminal/sued/check-in" data-press[^>]*>\s*<input type="hidden" '
            r'name="csrf" value="[^"]+">\s*<input type="hidden" name="key" '
            r'value="([^"]+)"',
            page.text,
        )
        assert key, "no check-in form with a one-time key on the terminal"
        form = {"csrf": csrf_of(page.text), "key": key.group(1), "code": code.lower()}
        r = await kiosk.post("/terminal/sued/check-in", headers=HTML, data=form)
        assert r.status_code == 200, r.text
        assert "T001" in r.text and "Termin um 08:40 Uhr" in r.text
        again = await kiosk.post("/terminal/sued/check-in", headers=HTML, data=form)
        assert again.status_code == 200 and "T001" in again.text

        refused = await kiosk.post(
            "/terminal/sued/check-in",
            headers=HTML,
            data={"csrf": csrf_of(page.text), "key": "another-key", "code": early},
        )
        assert refused.status_code == 409
        assert "Ihr Termin ist um 10:00 Uhr. Einchecken können Sie ab 09:30 Uhr." in refused.text
        assert f'value="{early}"' in refused.text  # kept for correcting

        no_csrf = await kiosk.post("/terminal/sued/check-in", headers=HTML, data={"code": early})
        assert no_csrf.status_code == 403
    assert (await appointment(env.http, early))["status"] == "booked"


async def test_reception_checks_in_from_its_page(env: Env) -> None:
    """Reception's check-in form checks the code in and says the number on its page."""
    code = (await book(env.http, slot("08:40")))["code"]
    env.at("08:55")
    async with httpx.AsyncClient(base_url=env.url, timeout=TIMEOUT) as desk:
        await log_in(desk, "reception-sued")
        page = await desk.get("/staff/sued/reception", headers=HTML)
        r = await desk.post(
            "/staff/sued/check-in", headers=HTML, data={"csrf": csrf_of(page.text), "code": code}
        )
        assert r.status_code == 303
        back = await desk.get(r.headers["location"], headers=HTML)
        assert "Zu spät für den Termin: Wartenummer A001 ohne Termin." in back.text
    assert (await appointment(env.http, code))["late"] is True


async def test_reception_keeps_a_mistyped_code_for_correcting(env: Env) -> None:
    """A code reception typed wrong comes back in its field, marked wrong and pointing to
    the message; the next page load has it no more."""
    async with httpx.AsyncClient(base_url=env.url, timeout=TIMEOUT) as desk:
        await log_in(desk, "reception-sued")
        page = await desk.get("/staff/sued/reception", headers=HTML)
        r = await desk.post(
            "/staff/sued/check-in",
            headers=HTML,
            data={"csrf": csrf_of(page.text), "code": "K7QM-4XP"},
        )
        back = await desk.get(r.headers["location"], headers=HTML)
        field = re.search(r'<input id="check-in-code"[^>]*>', back.text)
        assert field and 'value="K7QM-4XP"' in field.group(0), back.text[:3000]
        assert 'aria-invalid="true"' in field.group(
            0
        ) and 'aria-describedby="flash"' in field.group(0)
        assert 'id="flash"' in back.text and "Buchungscode" in back.text
        again = await desk.get("/staff/sued/reception", headers=HTML)
        field = re.search(r'<input id="check-in-code"[^>]*>', again.text)
        assert field and "value=" not in field.group(0) and "aria-invalid" not in field.group(0)
