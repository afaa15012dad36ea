"""The staff's list of a day's appointments, and the contact: who sees it, and when it expires."""

from __future__ import annotations

import re
from datetime import date, datetime

import httpx

from tests.appointments.support import (
    HTML,
    TUESDAY,
    TZ,
    Env,
    appointment,
    book,
    check_in,
    contact_key,
    log_in,
    slot,
)
from tests.helpers import (
    TIMEOUT,
)
from waitboard.core.clock import to_ms

ROW = re.compile(
    r'<tr data-state="([a-z_]+)">\s*<td>([^<]*)</td>\s*<td>([^<]*)</td>\s*'
    r"<td>([^<]*)</td>\s*<td>([^<]*)</td>\s*</tr>"
)


async def test_staff_list_shows_times_states_and_contacts(env: Env) -> None:
    """Reception's list of the day: each booking's time, its state in German, its number,
    and the contact; the contact appears nowhere public."""
    contact = "anna.muster@example.org"
    late = (await book(env.http, slot("08:40"), contact=contact))["code"]
    await book(env.http, slot("08:40"))  # never comes
    here = (await book(env.http, slot("09:00"), contact="0151 2345678"))["code"]
    gone = (await book(env.http, slot("09:20")))["code"]
    await book(env.http, slot("11:00"))  # still expected
    await book(env.http, slot("09:00", TUESDAY), contact="tuesday@example.org")
    assert (await env.http.post(f"/api/v1/appointments/{gone}/cancel")).status_code == 200
    env.at("08:55")
    late_ticket = await check_in(env.http, late)
    assert late_ticket.status_code == 201 and late_ticket.json()["late"] is True
    here_ticket = await check_in(env.http, here)
    assert here_ticket.status_code == 201 and here_ticket.json()["late"] is False

    async with httpx.AsyncClient(base_url=env.url, timeout=TIMEOUT) as desk:
        await log_in(desk, "reception-sued")
        page = await desk.get("/staff/sued/appointments", headers=HTML)
        assert page.status_code == 200, page.text
        rows = [
            (state, when, label, number.split(" ")[0], who.strip())
            for state, when, label, number, who in ROW.findall(page.text)
        ]
        assert sorted(rows) == sorted(
            [
                ("arrived_late", "08:40", "zu spät, ohne Termin", "A001", contact),
                ("missed", "08:40", "nicht erschienen", "–", ""),
                ("arrived", "09:00", "da", "T001", "0151 2345678"),
                ("cancelled", "09:20", "abgesagt", "–", ""),
                ("booked", "11:00", "erwartet", "–", ""),
            ]
        ), rows
        assert "tuesday@example.org" not in page.text
        assert "1 erwartet · 2 eingecheckt · 1 nicht erschienen · 1 abgesagt" in page.text
        tomorrow = await desk.get("/staff/sued/appointments?date=2026-12-01", headers=HTML)
        assert "tuesday@example.org" in tomorrow.text

    # The contact appears in no public answer about the booking or its ticket.
    public = [
        await env.http.get(f"/api/v1/appointments/{late}"),
        await env.http.get(f"/appointments/{late}", headers=HTML),
        await env.http.get(f"/appointments/{late}.ics"),
        await env.http.get(f"/api/v1/tickets/{late_ticket.json()['id']}"),
        await env.http.get(late_ticket.json()["url"], headers=HTML),
        await env.http.get("/api/v1/locations/sued"),
        await env.http.get("/locations/sued", headers=HTML),
        late_ticket,
    ]
    for r in public:
        assert r.status_code in (200, 201), (r.url, r.status_code)
        assert contact not in r.text and "anna.muster" not in r.text, r.url
    assert "contact" not in (await appointment(env.http, late))


async def test_staff_list_follows_a_moved_booking_to_its_new_day(env: Env) -> None:
    """A booking moved to another day leaves the old day's list and joins the new one's;
    a cancelled one stays listed as cancelled."""
    moved = (await book(env.http, slot("09:00"), contact="moved@example.org"))["code"]
    cancelled = (await book(env.http, slot("09:20"), contact="cancelled@example.org"))["code"]
    r = await env.http.post(
        f"/api/v1/appointments/{moved}/move", json={"start": slot("10:00", TUESDAY)}
    )
    assert r.status_code == 200, r.text
    await env.http.post(f"/api/v1/appointments/{cancelled}/cancel")
    async with httpx.AsyncClient(base_url=env.url, timeout=TIMEOUT) as desk:
        await log_in(desk, "reception-sued")
        today = await desk.get("/staff/sued/appointments", headers=HTML)
        tomorrow = await desk.get("/staff/sued/appointments?date=2026-12-01", headers=HTML)
    assert [row[:2] for row in ROW.findall(today.text)] == [("cancelled", "09:20")]
    assert "cancelled@example.org" not in today.text  # the contact went with the cancel
    assert [(row[0], row[1], row[4]) for row in ROW.findall(tomorrow.text)] == [
        ("booked", "10:00", "moved@example.org")
    ]


async def test_a_counter_sees_the_list_without_contacts(env: Env) -> None:
    """A counter's device lists the day's bookings with their states and numbers, but
    neither the contact column nor any contact: that is for reception and admin."""
    await book(env.http, slot("09:00"), contact="anna.muster@example.org")
    async with httpx.AsyncClient(base_url=env.url, timeout=TIMEOUT) as counter:
        await log_in(counter, "counter-sued-1")
        page = await counter.get("/staff/sued/appointments", headers=HTML)
    assert page.status_code == 200 and 'data-state="booked"' in page.text
    assert "anna.muster" not in page.text and ">Kontakt<" not in page.text
    async with httpx.AsyncClient(base_url=env.url, timeout=TIMEOUT) as admin:
        await log_in(admin, "admin")
        page = await admin.get("/staff/sued/appointments", headers=HTML)
    assert "anna.muster@example.org" in page.text


async def test_staff_list_escapes_the_contact(env: Env) -> None:
    """A contact with markup is shown as text in the staff's list, not run as HTML."""
    await book(env.http, slot("09:00"), contact="<script>alert(1)</script>@example.org")
    async with httpx.AsyncClient(base_url=env.url, timeout=TIMEOUT) as desk:
        await log_in(desk, "reception-sued")
        page = await desk.get("/staff/sued/appointments", headers=HTML)
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;@example.org" in page.text


async def test_staff_list_needs_a_staff_login_of_the_location(env: Env) -> None:
    """Without a login the list sends to the login; a terminal may not open it."""
    await book(env.http, slot("09:00"), contact="anna@example.org")
    async with httpx.AsyncClient(base_url=env.url, timeout=TIMEOUT) as visitor:
        r = await visitor.get("/staff/sued/appointments", headers=HTML)
        assert r.status_code == 303 and r.headers["location"].startswith("/staff/login")
        await log_in(visitor, "terminal-sued")
        r = await visitor.get("/staff/sued/appointments", headers=HTML)
        assert r.status_code == 403 and "anna@example.org" not in r.text


async def expires_at(env: Env, key: str) -> int:
    """When a key expires, on the service's clock: Redis's PTTL (it counts lifetimes from
    the command's clock) added to now, rounded to the minute (PTTL is read a moment after
    the command set it)."""
    left = await env.redis.pttl(key)
    assert left > 0, f"{key} has no expiry ({left})"
    minute = 60_000
    return round((to_ms(env.clock.now) + left) / minute) * minute


async def test_contact_expires_at_the_end_of_the_appointments_day(env: Env) -> None:
    """The contact is kept until local midnight after the appointment's day, follows a move
    to another day, and is deleted on cancel."""
    code = (await book(env.http, slot("10:00", TUESDAY), contact="+49 151 2345678"))["code"]
    key = contact_key(code)
    assert key.startswith("wb:{sued}:appt:contact:")
    assert await env.redis.get(key) == b"+49 151 2345678"
    assert await expires_at(env, key) == to_ms(datetime(2026, 12, 2, 0, 0, tzinfo=TZ))
    r = await env.http.post(
        f"/api/v1/appointments/{code}/move", json={"start": slot("09:00", date(2026, 12, 3))}
    )
    assert r.status_code == 200, r.text
    assert await expires_at(env, key) == to_ms(datetime(2026, 12, 4, 0, 0, tzinfo=TZ))
    await env.http.post(f"/api/v1/appointments/{code}/cancel")
    assert not await env.redis.exists(key)


async def test_a_contact_for_today_expires_tonight(env: Env) -> None:
    """A contact for today's appointment is gone at midnight tonight, not later."""
    code = (await book(env.http, slot("11:00"), contact="anna@example.org"))["code"]
    assert await expires_at(env, contact_key(code)) == to_ms(datetime(2026, 12, 1, 0, 0, tzinfo=TZ))


async def test_no_contact_no_contact_key(env: Env) -> None:
    """A booking without contact stores none (and an empty one counts as none)."""
    a = (await book(env.http, slot("09:00")))["code"]
    b = (await book(env.http, slot("09:00"), contact="   "))["code"]
    assert not await env.redis.exists(contact_key(a))
    assert not await env.redis.exists(contact_key(b))
