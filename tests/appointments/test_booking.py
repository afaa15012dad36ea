"""Booking over the API: many people for one slot, a booking's life (look up, calendar,
cancel), and the Idempotency-Key."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime

import icalendar
import pytest

from tests.appointments.support import (
    BOOK,
    HTML,
    MONDAY,
    TUESDAY,
    Env,
    appointment,
    book,
    check_in,
    day_slots,
    fill,
    free_at,
    problem,
    slot,
)
from tests.helpers import (
    Report,
    dataset,
)


async def test_fifty_at_once_for_three_places_get_three(env: Env, report: Report) -> None:
    """50 simultaneous bookings of a 3-place slot: exactly 3 succeed, 47 get slot_full with
    next free slots that really are free, and the slot shows 0 free."""
    wanted = slot("09:00")
    answers = await asyncio.gather(
        *(env.http.post(BOOK, json={"queue": "T", "start": wanted}) for _ in range(50))
    )
    statuses = [r.status_code for r in answers]
    others = len(statuses) - statuses.count(201) - statuses.count(409)
    report(
        f"50 concurrent bookings of one 3-place slot: {statuses.count(201)} x 201, "
        f"{statuses.count(409)} x 409, {others} other"
    )
    assert statuses.count(201) == 3 and statuses.count(409) == 47, statuses
    booked = [r.json() for r in answers if r.status_code == 201]
    assert len({b["code"] for b in booked}) == 3
    assert all(b["start"] == wanted and b["status"] == "booked" for b in booked)
    slots = await day_slots(env.http, MONDAY)
    assert slots[wanted] == 0
    for r in answers:
        if r.status_code != 409:
            continue
        body = problem(r, 409, "slot_full", says="fully booked")
        suggested = body["next_free"]
        assert suggested, body
        assert all(datetime.fromisoformat(s) > datetime.fromisoformat(wanted) for s in suggested), (
            suggested
        )
        for start in suggested:
            assert slots.get(start, 0) > 0, f"suggested {start} has no free place"
    first = problem(next(r for r in answers if r.status_code == 409), 409)
    assert first["next_free"] == [slot("09:20"), slot("09:40"), slot("10:00")]


async def test_next_free_skips_full_slots_and_days(env: Env) -> None:
    """A refusal suggests the next slots that have a place, skipping full ones and running
    on into the next day."""
    for hhmm in ("11:00", "11:20"):
        await fill(env.http, slot(hhmm))
    for _ in range(2):
        await book(env.http, slot("11:40"))
    r = await env.http.post(BOOK, json={"queue": "T", "start": slot("11:00")})
    body = problem(r, 409, "slot_full")
    assert body["next_free"] == [slot("11:40"), slot("08:00", TUESDAY), slot("08:20", TUESDAY)]
    assert "11:40" in body["detail"]


# --- 2. a booking's life ------------------------------------------------------------------


async def test_book_look_up_calendar_cancel_and_check_in_refused(env: Env) -> None:
    """Book, find it by its code, add it to a calendar (UTC times), cancel it: the place is
    free again, a second cancel answers the same, and a check-in is refused."""
    wanted = slot("09:00")
    r = await env.http.post(BOOK, json={"queue": "T", "start": wanted})
    assert r.status_code == 201, r.text
    booked = r.json()
    code = booked["code"]
    assert re.fullmatch(r"[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}", code), code
    assert booked["start"] == wanted and booked["end"] == slot("09:20")
    assert booked["status"] == "booked" and booked["queue"] == "T"
    assert booked["location"] == "sued" and booked["late"] is False
    assert booked["url"] == f"/appointments/{code}"
    assert booked["ics_url"] == f"/appointments/{code}.ics"
    assert r.headers["location"] == booked["url"]
    assert r.headers["cache-control"] == "no-store"  # the answer holds the code
    assert await free_at(env.http, wanted) == 2

    assert await appointment(env.http, code) == booked
    page = await env.http.get(booked["url"], headers=HTML)
    assert page.status_code == 200 and code in page.text
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"  # the address holds the code
    english = await env.http.get(booked["url"] + "?lang=en", headers=HTML)
    assert f'href="{booked["ics_url"]}?lang=en"' in english.text  # an English calendar entry

    ics = await env.http.get(booked["ics_url"])
    assert ics.status_code == 200
    assert ics.headers["content-type"].startswith("text/calendar")
    events = icalendar.Calendar.from_ical(ics.content).walk("VEVENT")
    assert len(events) == 1
    event = events[0]
    assert event.decoded("dtstart") == datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    assert event.decoded("dtend") == datetime(2026, 11, 30, 8, 20, tzinfo=UTC)
    assert str(event["status"]) == "CONFIRMED"
    assert code in str(event["description"])

    cancelled = await env.http.post(f"/api/v1/appointments/{code}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert await free_at(env.http, wanted) == 3
    again = await env.http.post(f"/api/v1/appointments/{code}/cancel", json={})
    assert again.status_code == 200 and again.json() == cancelled.json()
    assert await free_at(env.http, wanted) == 3, "a second cancel gave the place back twice"
    assert (await appointment(env.http, code))["status"] == "cancelled"
    ics = await env.http.get(booked["ics_url"])
    event = icalendar.Calendar.from_ical(ics.content).walk("VEVENT")[0]
    assert str(event["status"]) == "CANCELLED"

    env.at("08:45")
    problem(await check_in(env.http, code), 409, "booking_cancelled", says="cancelled")


async def test_concern_list_counts_free_places(env: Env) -> None:
    """The list of concerns offers T with its bookable days and free places, which go down
    by one per booking."""
    r = await env.http.get(BOOK)
    assert r.status_code == 200, r.text
    (queue,) = r.json()["queues"]
    assert queue["queue"] == "T" and queue["slot_minutes"] == 20
    days = {d["date"]: d["free"] for d in queue["days"]}
    # Today from 08:40 on (30 minutes' notice): 10 slots; a full weekday: 12 slots.
    assert days["2026-11-30"] == 10 * 3 and days["2026-12-01"] == 12 * 3
    assert "2026-12-05" not in days and "2026-12-15" not in days  # Saturday; beyond 14 days
    assert max(days) == "2026-12-14"
    await book(env.http, slot("10:00", TUESDAY))
    queue = (await env.http.get(BOOK)).json()["queues"][0]
    assert {d["date"]: d["free"] for d in queue["days"]}["2026-12-01"] == 12 * 3 - 1


async def test_a_booking_in_another_offset_is_the_same_slot(env: Env) -> None:
    """A start given in UTC ("Z" or +00:00) books the local slot it names."""
    booked = await book(env.http, "2026-12-01T09:00:00Z")
    assert booked["start"] == slot("10:00", TUESDAY)
    booked = await book(env.http, "2026-12-01T09:00:00+00:00")
    assert booked["start"] == slot("10:00", TUESDAY)
    assert await free_at(env.http, slot("10:00", TUESDAY)) == 1


# --- 3. Idempotency-Key ---------------------------------------------------------------------


async def test_the_same_key_and_booking_finds_the_same_code(env: Env) -> None:
    """A retried booking under its Idempotency-Key gets the same code and takes one place."""
    body = {"queue": "T", "start": slot("09:00"), "contact": "anna@example.org"}
    first = await env.http.post(BOOK, json=body, headers={"Idempotency-Key": "retry-1"})
    second = await env.http.post(BOOK, json=body, headers={"Idempotency-Key": "retry-1"})
    assert first.status_code == second.status_code == 201, (first.text, second.text)
    assert first.json()["code"] == second.json()["code"]
    assert second.headers.get("idempotent-replayed") == "true"
    assert "idempotent-replayed" not in first.headers
    assert await free_at(env.http, slot("09:00")) == 2


async def test_concurrent_retries_under_one_key_take_one_place(env: Env) -> None:
    """Ten copies of one booking sent at once under one key: one code, one place."""
    body = {"queue": "T", "start": slot("09:00")}
    answers = await asyncio.gather(
        *(env.http.post(BOOK, json=body, headers={"Idempotency-Key": "burst"}) for _ in range(10))
    )
    assert [r.status_code for r in answers] == [201] * 10, [r.text for r in answers]
    assert len({r.json()["code"] for r in answers}) == 1
    assert await free_at(env.http, slot("09:00")) == 2


@pytest.mark.parametrize(
    "other",
    [
        {"start": slot("09:20")},
        {"contact": "+49 151 2345678"},
        {"start": slot("09:00", TUESDAY)},
    ],
    ids=["other slot", "other contact", "other day"],
)
async def test_a_key_reused_for_another_booking_is_refused(env: Env, other: dict[str, str]) -> None:
    """The same key with another booking: 422 idempotency_key_reused, nothing booked."""
    body = {"queue": "T", "start": slot("09:00")}
    await env.http.post(BOOK, json=body, headers={"Idempotency-Key": "k-1"})
    before = await dataset(env.redis)
    r = await env.http.post(BOOK, json={**body, **other}, headers={"Idempotency-Key": "k-1"})
    problem(r, 422, "idempotency_key_reused", says="already used")
    assert await dataset(env.redis) == before, "a refused booking changed Redis"


async def test_different_keys_book_different_places(env: Env) -> None:
    """Two people with their own keys for the same slot get two codes and two places."""
    a = await book(env.http, slot("09:00"), key="person-a")
    b = await book(env.http, slot("09:00"), key="person-b")
    assert a["code"] != b["code"]
    assert await free_at(env.http, slot("09:00")) == 1


async def test_a_retry_finds_its_booking_after_the_slot_filled_up(env: Env) -> None:
    """A retry under the same key answers the booking made, even when the slot has no
    place left by now."""
    body = {"queue": "T", "start": slot("09:00")}
    first = await env.http.post(BOOK, json=body, headers={"Idempotency-Key": "late-retry"})
    await fill(env.http, slot("09:00"))
    again = await env.http.post(BOOK, json=body, headers={"Idempotency-Key": "late-retry"})
    assert again.status_code == 201, again.text
    assert again.json()["code"] == first.json()["code"]


async def test_a_retry_finds_its_booking_after_the_notice_period_began(env: Env) -> None:
    """A retry under the same key answers the booking it made, even once the slot is within
    the minimum notice (the booking exists; the client must learn its code)."""
    body = {"queue": "T", "start": slot("08:40")}
    first = await env.http.post(BOOK, json=body, headers={"Idempotency-Key": "slow-net"})
    assert first.status_code == 201, first.text
    env.at("08:15")  # 08:40 is now within the 30 minutes' notice
    again = await env.http.post(BOOK, json=body, headers={"Idempotency-Key": "slow-net"})
    assert again.status_code == 201, again.text
    assert again.json()["code"] == first.json()["code"]
