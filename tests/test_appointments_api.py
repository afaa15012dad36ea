"""Appointments over HTTP: booking, moving and cancelling with the code, check-in by the
office's devices and the terminal form, the call order at the counter, the estimate, the
staff's list, and what Redis keeps of a booking.

Everything runs against a real uvicorn and the embedded Redis, on a clock the test sets:
Monday 30 November 2026, 08:00 in Berlin unless a test moves it. Queue T at Süd takes
appointments on weekdays 08:00-12:00 in 20-minute slots of 3 places; check-in opens 30
minutes before a slot and is on time until 10 minutes after it; counter 2 serves B, A,
then T.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import tomllib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import icalendar
import pytest
from redis.asyncio import Redis

from tests.conftest import (
    APPOINTMENT_PLAN,
    MONDAY_8,
    OFFICE_PATH,
    TIMEOUT,
    Report,
    SettableClock,
    auth,
    dataset,
    get_when,
    live_server,
    office_with_appointments,
    queue_of,
)
from tests.test_staff import csrf_of
from tests.test_staff import log_in as staff_log_in
from waitboard.core.clock import to_ms
from waitboard.core.office import Office, parse_office
from waitboard.pages import booking_cookie
from waitboard.store import keys
from waitboard.store.embedded import EmbeddedRedis

TZ = ZoneInfo("Europe/Berlin")
MONDAY = date(2026, 11, 30)
TUESDAY = date(2026, 12, 1)
BOOK = "/api/v1/locations/sued/appointments"
SLOTS = "/api/v1/locations/sued/appointments/T"
CHECK_IN = "/api/v1/locations/sued/check-in"
FORM = "/locations/sued/appointments/T"
HTML = {"Accept": "text/html"}
PROBLEM = "application/problem+json"
#: A code of the right shape that no booking has (letters and digits of the alphabet).
UNKNOWN_CODE = "K7QM-4XPA"


# --- helpers ----------------------------------------------------------------------------


def local(hhmm: str, day: date = MONDAY) -> datetime:
    hour, minute = (int(part) for part in hhmm.split(":"))
    return datetime.combine(day, time(hour, minute), TZ)


def slot(hhmm: str, day: date = MONDAY) -> str:
    """A slot's start as the API offers it: ``2026-11-30T09:00+01:00``."""
    return local(hhmm, day).isoformat(timespec="minutes")


def bare(code: str) -> str:
    return code.replace("-", "")


def contact_key(code: str) -> str:
    return keys.booking_contact("sued", hashlib.sha256(bare(code).encode()).hexdigest())


@dataclass
class Env:
    """A running waitboard with appointments, its clock and a client."""

    http: httpx.AsyncClient
    clock: SettableClock
    redis: Redis
    url: str

    def at(self, hhmm: str, day: date = MONDAY) -> None:
        self.clock.now = local(hhmm, day)


@pytest.fixture
async def env(redis_server: EmbeddedRedis, redis: Redis) -> AsyncIterator[Env]:
    clock = SettableClock(MONDAY_8)
    async with (
        live_server(redis_server.url, office_with_appointments(), clock=clock) as srv,
        httpx.AsyncClient(base_url=srv.url, timeout=TIMEOUT) as http,
    ):
        yield Env(http, clock, redis, srv.url)


def problem(
    r: httpx.Response, status: int, code: str | None = None, says: str | None = None
) -> dict[str, Any]:
    """The answer is a problem+json of this status (and code), saying ``says``."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM, r.headers["content-type"]
    body: dict[str, Any] = r.json()
    assert body["status"] == status and body["title"] and body["detail"], body
    if code is not None:
        assert body["code"] == code, body
    if says is not None:
        assert says in body["detail"], body["detail"]
    assert "Traceback" not in r.text
    return body


async def book(
    http: httpx.AsyncClient, start: str, contact: str | None = None, key: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"queue": "T", "start": start}
    if contact is not None:
        body["contact"] = contact
    r = await http.post(BOOK, json=body, headers={"Idempotency-Key": key} if key else {})
    assert r.status_code == 201, r.text
    answer: dict[str, Any] = r.json()
    return answer


async def day_slots(http: httpx.AsyncClient, day: date) -> dict[str, int]:
    """The day's bookable slots and their free places."""
    r = await http.get(SLOTS, params={"date": day.isoformat()})
    assert r.status_code == 200, r.text
    return {s["start"]: s["free"] for s in r.json()["slots"]}


async def free_at(http: httpx.AsyncClient, start: str) -> int:
    slots = await day_slots(http, date.fromisoformat(start[:10]))
    assert start in slots, f"{start} is not offered: {sorted(slots)}"
    return slots[start]


async def fill(http: httpx.AsyncClient, start: str) -> list[str]:
    """Book every free place of a slot; the codes."""
    return [(await book(http, start))["code"] for _ in range(await free_at(http, start))]


async def check_in(
    http: httpx.AsyncClient, code: str, device: str = "terminal-sued", location: str = "sued"
) -> httpx.Response:
    return await http.post(
        f"/api/v1/locations/{location}/check-in", json={"code": code}, headers=auth(device)
    )


async def appointment(http: httpx.AsyncClient, code: str) -> dict[str, Any]:
    r = await http.get(f"/api/v1/appointments/{code}")
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


async def issue(http: httpx.AsyncClient, queue: str) -> dict[str, Any]:
    r = await http.post(
        "/api/v1/locations/sued/tickets", json={"queue": queue}, headers=auth("reception-sued")
    )
    assert r.status_code == 201, r.text
    answer: dict[str, Any] = r.json()
    return answer


COUNTER_2 = "/api/v1/locations/sued/counters/2"


async def open_counter_2(http: httpx.AsyncClient) -> None:
    r = await http.post(f"{COUNTER_2}/open", headers=auth("counter-sued-2"))
    assert r.status_code == 200, r.text


async def call_next(http: httpx.AsyncClient) -> dict[str, Any] | None:
    """The ticket counter 2 calls, or None when nobody waits."""
    r = await http.post(f"{COUNTER_2}/call-next", headers=auth("counter-sued-2"))
    if r.status_code == 204:
        return None
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


async def finish(http: httpx.AsyncClient, ticket_id: str) -> None:
    for action in ("start", "complete"):
        r = await http.post(f"/api/v1/tickets/{ticket_id}/{action}", headers=auth("counter-sued-2"))
        assert r.status_code == 200, r.text


async def call_and_finish(http: httpx.AsyncClient) -> dict[str, Any]:
    called = await call_next(http)
    assert called is not None, "nobody was called"
    await finish(http, called["id"])
    return called


async def log_in(http: httpx.AsyncClient, device: str) -> httpx.Response:
    r = await staff_log_in(http, device)
    assert r.status_code == 303, r.text
    return r


async def everything_in(client: Redis) -> list[bytes]:
    """Every key, field, member and value in Redis, read by type (DUMP may compress)."""
    redis: Any = client  # redis-py's answers are typed bytes | str; this client gives bytes
    out: list[bytes] = []
    async for key in redis.scan_iter(count=1000):
        out.append(key)
        kind = (await redis.type(key)).decode()
        if kind == "string":
            out.append(await redis.get(key) or b"")
        elif kind == "hash":
            for k, v in (await redis.hgetall(key)).items():
                out += [k, v]
        elif kind == "list":
            out += await redis.lrange(key, 0, -1)
        elif kind == "set":
            out += list(await redis.smembers(key))
        elif kind == "zset":
            out += await redis.zrange(key, 0, -1)
        elif kind == "stream":
            for entry_id, fields in await redis.xrange(key):
                out.append(entry_id)
                for k, v in fields.items():
                    out += [k, v]
        elif kind != "none":  # expired between SCAN and TYPE
            pytest.fail(f"{key!r} has a type this test does not read: {kind}")
    return out


# --- 1. the acceptance: many people, one slot --------------------------------------------


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


# --- 4. moving ----------------------------------------------------------------------------


async def test_move_frees_the_old_place_and_takes_the_new(env: Env) -> None:
    """Moving gives the old slot's place back and takes one in the new slot."""
    code = (await book(env.http, slot("09:00")))["code"]
    r = await env.http.post(f"/api/v1/appointments/{code}/move", json={"start": slot("09:20")})
    assert r.status_code == 200, r.text
    moved = r.json()
    assert moved["code"] == code and moved["start"] == slot("09:20")
    assert moved["end"] == slot("09:40") and moved["status"] == "booked"
    assert await free_at(env.http, slot("09:00")) == 3
    assert await free_at(env.http, slot("09:20")) == 2
    assert (await appointment(env.http, code))["start"] == slot("09:20")
    # To the slot it is in already: nothing changes.
    same = await env.http.post(f"/api/v1/appointments/{code}/move", json={"start": slot("09:20")})
    assert same.status_code == 200 and same.json()["start"] == slot("09:20")
    assert await free_at(env.http, slot("09:20")) == 2
    # To another day, and then cancelled: every place is given back.
    r = await env.http.post(
        f"/api/v1/appointments/{code}/move", json={"start": slot("11:00", TUESDAY)}
    )
    assert r.status_code == 200, r.text
    assert await free_at(env.http, slot("09:20")) == 3
    assert await free_at(env.http, slot("11:00", TUESDAY)) == 2
    await env.http.post(f"/api/v1/appointments/{code}/cancel")
    assert await free_at(env.http, slot("11:00", TUESDAY)) == 3


async def test_move_to_a_full_slot_keeps_the_booking(env: Env) -> None:
    """Moving to a full slot: 409 slot_full with free suggestions, booking and Redis
    unchanged."""
    code = (await book(env.http, slot("09:00")))["code"]
    await fill(env.http, slot("09:40"))
    before = await dataset(env.redis)
    r = await env.http.post(f"/api/v1/appointments/{code}/move", json={"start": slot("09:40")})
    body = problem(r, 409, "slot_full")
    assert body["next_free"] and body["next_free"][0] == slot("10:00"), body
    slots = await day_slots(env.http, MONDAY)
    assert all(slots[s] > 0 for s in body["next_free"])
    assert await dataset(env.redis) == before
    assert (await appointment(env.http, code))["start"] == slot("09:00")


async def test_an_arrived_or_cancelled_booking_cannot_be_moved(env: Env) -> None:
    """Once checked in, a booking can be neither moved nor cancelled (409); a cancelled one
    cannot be moved."""
    arrived = (await book(env.http, slot("08:40")))["code"]
    cancelled = (await book(env.http, slot("09:00")))["code"]
    await env.http.post(f"/api/v1/appointments/{cancelled}/cancel")
    env.at("08:30")
    assert (await check_in(env.http, arrived)).status_code == 201
    before = await dataset(env.redis)
    r = await env.http.post(f"/api/v1/appointments/{arrived}/move", json={"start": slot("10:00")})
    problem(r, 409, "booking_arrived", says="already checked in")
    problem(await env.http.post(f"/api/v1/appointments/{arrived}/cancel"), 409, "booking_arrived")
    r = await env.http.post(f"/api/v1/appointments/{cancelled}/move", json={"start": slot("10:00")})
    problem(r, 409, "booking_cancelled")
    assert await dataset(env.redis) == before


async def test_moves_racing_for_the_last_place_get_it_once(env: Env) -> None:
    """Six bookings moved at once into a slot with one free place: one moves, five get
    409, and no slot holds more than its capacity."""
    codes = [*await fill(env.http, slot("09:00")), *await fill(env.http, slot("09:20"))]
    for _ in range(2):
        await book(env.http, slot("10:00"))
    answers = await asyncio.gather(
        *(
            env.http.post(f"/api/v1/appointments/{code}/move", json={"start": slot("10:00")})
            for code in codes
        )
    )
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [200] + [409] * 5, [r.text for r in answers]
    slots = await day_slots(env.http, MONDAY)
    assert slots[slot("10:00")] == 0
    assert slots[slot("09:00")] + slots[slot("09:20")] == 1


async def test_cancels_at_once_give_the_place_back_once(env: Env) -> None:
    """Ten simultaneous cancels of one booking all answer 200; the slot gains one place."""
    code = (await book(env.http, slot("09:00")))["code"]
    await book(env.http, slot("09:00"))
    answers = await asyncio.gather(
        *(env.http.post(f"/api/v1/appointments/{code}/cancel") for _ in range(10))
    )
    assert [r.status_code for r in answers] == [200] * 10
    assert await free_at(env.http, slot("09:00")) == 2


# --- 5. check-in ----------------------------------------------------------------------------


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


# --- 6. who is called first ---------------------------------------------------------------


async def test_due_appointments_come_first_early_ones_last(env: Env) -> None:
    """Counter 2 (B, A, then T) calls an appointment that is due (from 2 minutes before its
    slot) before any walk-in; one that is early only when no walk-in waits."""
    first = (await book(env.http, slot("08:40")))["code"]
    second = (await book(env.http, slot("09:00")))["code"]
    await open_counter_2(env.http)

    env.at("08:15")
    t1 = (await check_in(env.http, first)).json()
    a1 = await issue(env.http, "A")
    assert (await call_and_finish(env.http))["id"] == a1["id"], "early T before a walk-in"

    env.at("08:37")  # T001's slot is 08:40: not due before 08:38
    a2 = await issue(env.http, "A")
    b1 = await issue(env.http, "B")
    assert (await call_and_finish(env.http))["id"] == b1["id"]

    env.at("08:38")
    called = await call_and_finish(env.http)
    assert called["id"] == t1["id"], f"due T001 not called before A: {called['number']}"

    env.at("08:40")
    t2 = (await check_in(env.http, second)).json()
    assert (await call_and_finish(env.http))["id"] == a2["id"]
    assert (await call_and_finish(env.http))["id"] == t2["id"], "early T not called when idle"
    assert await call_next(env.http) is None


async def test_appointments_are_called_by_slot_time_not_arrival(env: Env) -> None:
    """Among those checked in, the earlier slot is called first, whoever came first."""
    later = (await book(env.http, slot("09:00")))["code"]
    sooner = (await book(env.http, slot("08:40")))["code"]
    await open_counter_2(env.http)
    env.at("08:35")
    t_later = (await check_in(env.http, later)).json()
    t_sooner = (await check_in(env.http, sooner)).json()
    assert t_sooner["position"] == 1 and t_later["number"] == "T001"
    assert (await call_and_finish(env.http))["id"] == t_sooner["id"]
    assert (await call_and_finish(env.http))["id"] == t_later["id"]


# --- 7. bad input -------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    method: str
    path: str  # may contain {code}: a booking at 10:00 today
    status: int
    says: str  # a phrase the detail must contain
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    device: str | None = None
    now: datetime | None = None  # the clock for this request


def booking(start: Any, **more: Any) -> dict[str, Any]:
    return {"queue": "T", "start": start, **more}


JSON = {"Content-Type": "application/json"}
MOVE = "/api/v1/appointments/{code}/move"
CANCEL = "/api/v1/appointments/{code}/cancel"

CASES = [
    # Booking.
    Case(
        "unknown queue",
        "POST",
        BOOK,
        422,
        "Queue 'Z' of sued takes no appointments",
        json={"queue": "Z", "start": slot("09:00")},
    ),
    Case(
        "walk-in queue",
        "POST",
        BOOK,
        422,
        "appointment queues here: T",
        json={"queue": "A", "start": slot("09:00")},
    ),
    Case(
        "off the grid",
        "POST",
        BOOK,
        422,
        "no appointment slot at 2026-12-01 08:50",
        json=booking(slot("08:50", TUESDAY)),
    ),
    Case(
        "outside the plan's hours",
        "POST",
        BOOK,
        422,
        "no appointment slot",
        json=booking(slot("13:00", TUESDAY)),
    ),
    Case(
        "past",
        "POST",
        BOOK,
        422,
        "too soon or past",
        json=booking(slot("09:00", date(2026, 11, 27))),
    ),
    Case(
        "within the notice",
        "POST",
        BOOK,
        422,
        "at least 30 minutes ahead",
        json=booking(slot("08:20")),
    ),
    Case(
        "beyond days_ahead",
        "POST",
        BOOK,
        422,
        "up to 2026-12-14",
        json=booking(slot("09:00", date(2026, 12, 15))),
    ),
    Case(
        "closed day",
        "POST",
        BOOK,
        422,
        "2026-12-24",
        json=booking(slot("10:00", date(2026, 12, 24))),
        now=local("08:00", date(2026, 12, 21)),
    ),
    Case(
        "Saturday",
        "POST",
        BOOK,
        422,
        "No appointments are offered on 2026-12-05",
        json=booking(slot("10:00", date(2026, 12, 5))),
    ),
    Case("naive time", "POST", BOOK, 422, "UTC offset", json=booking("2026-12-01T09:00:00")),
    Case(
        "garbage start",
        "POST",
        BOOK,
        422,
        "not a date and time",
        json=booking("next tuesday at nine"),
    ),
    Case("start too short", "POST", BOOK, 422, "'start'", json=booking("09:00")),
    Case(
        "start not a string",
        "POST",
        BOOK,
        422,
        "'start': Input should be a valid string",
        json=booking(1764576000),
    ),
    Case("start missing", "POST", BOOK, 422, "'start': required", json={"queue": "T"}),
    Case(
        "contact too long",
        "POST",
        BOOK,
        422,
        "'contact'",
        json=booking(slot("09:00"), contact="a@" + "b" * 119),
    ),
    Case(
        "contact with a newline",
        "POST",
        BOOK,
        422,
        "one line",
        json=booking(slot("09:00"), contact="anna@example.org\nBcc: all@example.org"),
    ),
    Case(
        "contact with a control character",
        "POST",
        BOOK,
        422,
        "one line",
        json=booking(slot("09:00"), contact="0151 2345678\x07"),
    ),
    Case(
        "contact neither e-mail nor phone",
        "POST",
        BOOK,
        422,
        "e-mail address or a phone number",
        json=booking(slot("09:00"), contact="call me"),
    ),
    Case(
        "extra field",
        "POST",
        BOOK,
        422,
        "'name': unknown field",
        json=booking(slot("09:00"), name="Anna Muster"),
    ),
    Case("not an object", "POST", BOOK, 422, "must be a JSON object", json=["T"]),
    Case(
        "malformed JSON",
        "POST",
        BOOK,
        422,
        "not valid JSON",
        content=b'{"queue": "T", "start": ',
        headers=JSON,
    ),
    Case(
        "not JSON at all",
        "POST",
        BOOK,
        415,
        "Content-Type: application/json",
        content=b"queue=T&start=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    ),
    Case(
        "huge body",
        "POST",
        BOOK,
        413,
        "at most 16384",
        content=b'{"queue": "T", "start": "' + b"9" * 20000 + b'"}',
        headers=JSON,
    ),
    Case(
        "bad Idempotency-Key",
        "POST",
        BOOK,
        422,
        "Idempotency-Key header must be",
        json=booking(slot("09:00")),
        headers={"Idempotency-Key": "x" * 300},
    ),
    Case(
        "unknown location",
        "POST",
        "/api/v1/locations/west/appointments",
        404,
        "no location 'west'",
        json=booking(slot("09:00")),
    ),
    # Reading slots.
    Case("slots of a garbage day", "GET", SLOTS + "?date=soon", 422, "not a day like"),
    Case(
        "slots beyond the window", "GET", SLOTS + "?date=2027-01-04", 422, "has no bookable slots"
    ),
    Case(
        "slots of a walk-in queue",
        "GET",
        "/api/v1/locations/sued/appointments/A",
        422,
        "takes no appointments",
    ),
    # Looking up.
    Case(
        "get a malformed code",
        "GET",
        "/api/v1/appointments/nonsense",
        422,
        "eight letters and digits",
    ),
    Case(
        "get an unknown code",
        "GET",
        f"/api/v1/appointments/{UNKNOWN_CODE}",
        404,
        "no appointment with this code",
    ),
    # Moving.
    Case(
        "move to garbage",
        "POST",
        MOVE,
        422,
        "not a date and time",
        json={"start": "the day after tomorrow"},
    ),
    Case(
        "move off the grid", "POST", MOVE, 422, "no appointment slot", json={"start": slot("10:10")}
    ),
    Case(
        "move to a naive time",
        "POST",
        MOVE,
        422,
        "UTC offset",
        json={"start": "2026-12-01T09:00:00"},
    ),
    Case(
        "move into the past",
        "POST",
        MOVE,
        422,
        "too soon or past",
        json={"start": slot("09:00", date(2026, 11, 27))},
    ),
    Case(
        "move beyond the window",
        "POST",
        MOVE,
        422,
        "up to 2026-12-14",
        json={"start": slot("09:00", date(2026, 12, 16))},
    ),
    Case("move without start", "POST", MOVE, 422, "'start': required", json={}),
    Case(
        "move with an extra field",
        "POST",
        MOVE,
        422,
        "'queue': unknown field",
        json={"start": slot("11:00"), "queue": "A"},
    ),
    Case(
        "move with a form body",
        "POST",
        MOVE,
        415,
        "Content-Type: application/json",
        content=b"start=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    ),
    Case(
        "move an unknown code",
        "POST",
        f"/api/v1/appointments/{UNKNOWN_CODE}/move",
        404,
        "no appointment with this code",
        json={"start": slot("11:00")},
    ),
    Case(
        "move a malformed code",
        "POST",
        "/api/v1/appointments/xyz/move",
        422,
        "eight letters and digits",
        json={"start": slot("11:00")},
    ),
    # Cancelling.
    Case(
        "cancel with a body", "POST", CANCEL, 422, "'reason': unknown field", json={"reason": "ill"}
    ),
    Case(
        "cancel an unknown code",
        "POST",
        f"/api/v1/appointments/{UNKNOWN_CODE}/cancel",
        404,
        "no appointment with this code",
    ),
    # Checking in.
    Case(
        "check-in without code",
        "POST",
        CHECK_IN,
        422,
        "'code': required",
        json={},
        device="terminal-sued",
    ),
    Case(
        "check-in with a number",
        "POST",
        CHECK_IN,
        422,
        "'code': Input should be a valid string",
        json={"code": 12345678},
        device="terminal-sued",
    ),
    Case(
        "check-in with an empty code",
        "POST",
        CHECK_IN,
        422,
        "'code'",
        json={"code": ""},
        device="terminal-sued",
    ),
    Case(
        "check-in with a huge code",
        "POST",
        CHECK_IN,
        422,
        "'code'",
        json={"code": "K" * 301},
        device="terminal-sued",
    ),
    Case(
        "check-in with an extra field",
        "POST",
        CHECK_IN,
        422,
        "'queue': unknown field",
        json={"code": "{code}", "queue": "T"},
        device="terminal-sued",
    ),
    Case(
        "check-in as a form",
        "POST",
        CHECK_IN,
        415,
        "Content-Type: application/json",
        content=b"code=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        device="terminal-sued",
    ),
    Case(
        "check-in with a huge body",
        "POST",
        CHECK_IN,
        413,
        "at most 16384",
        content=b'{"code": "' + b"K" * 20000 + b'"}',
        headers=JSON,
        device="terminal-sued",
    ),
    # Tickets of the appointment queue only come from check-ins.
    Case(
        "walk-in ticket in T",
        "POST",
        "/api/v1/locations/sued/tickets",
        422,
        "takes appointments only",
        json={"queue": "T"},
        device="reception-sued",
    ),
]


def _fill(value: Any, code: str) -> Any:
    if isinstance(value, str):
        return value.replace("{code}", code)
    if isinstance(value, dict):
        return {k: _fill(v, code) for k, v in value.items()}
    return value


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_bad_input_is_refused_and_changes_nothing(env: Env, case: Case) -> None:
    """Each bad request: its status, problem+json with a detail that says what to change,
    and Redis unchanged."""
    code = (await book(env.http, slot("10:00")))["code"]
    if case.now is not None:
        env.clock.now = case.now
    before = await dataset(env.redis)
    headers = {**(auth(case.device) if case.device else {}), **case.headers}
    r = await env.http.request(
        case.method,
        case.path.format(code=code),
        json=_fill(case.json, code),
        content=case.content,
        headers=headers,
    )
    body = problem(r, case.status, says=case.says)
    assert body["code"], body
    assert await dataset(env.redis) == before, "a refused request changed Redis"


async def test_transfer_into_the_appointment_queue_is_refused(env: Env) -> None:
    """A walk-in ticket cannot be transferred into T (422 appointments_only)."""
    ticket = await issue(env.http, "A")
    before = await dataset(env.redis)
    r = await env.http.post(
        f"/api/v1/tickets/{ticket['id']}/transfer",
        json={"queue": "T"},
        headers=auth("reception-sued"),
    )
    problem(r, 422, "appointments_only", says="check in with the booking code")
    assert await dataset(env.redis) == before


@dataclass
class FormCase:
    name: str
    form: dict[str, str]
    status: int
    says: str
    lang: str = "de"


FORM_CASES = [
    FormCase("no slot picked", {"contact": ""}, 422, "Bitte wählen Sie eine Uhrzeit."),
    FormCase(
        "garbage slot",
        {"start": "morgen früh"},
        422,
        "Diese Uhrzeit kann nicht (mehr) gebucht werden.",
    ),
    FormCase(
        "slot off the grid",
        {"start": slot("09:10")},
        422,
        "Diese Uhrzeit kann nicht (mehr) gebucht werden.",
    ),
    FormCase(
        "naive slot",
        {"start": "2026-12-01T09:00:00"},
        422,
        "Diese Uhrzeit kann nicht (mehr) gebucht werden.",
    ),
    FormCase(
        "slot within the notice",
        {"start": slot("08:20")},
        422,
        "Diese Uhrzeit kann nicht (mehr) gebucht werden.",
    ),
    FormCase(
        "contact neither e-mail nor phone",
        {"start": slot("09:00"), "contact": "Anna"},
        422,
        "Bitte eine E-Mail-Adresse oder Telefonnummer angeben",
    ),
    FormCase(
        "contact with a newline",
        {"start": slot("09:00"), "contact": "anna@example.org\r\nBcc: x@example.org"},
        422,
        "Bitte eine E-Mail-Adresse oder Telefonnummer angeben",
    ),
    FormCase(
        "contact too long",
        {"start": slot("09:00"), "contact": "1" * 121},
        422,
        "Bitte eine E-Mail-Adresse oder Telefonnummer angeben",
    ),
    FormCase("full slot", {"start": slot("11:00")}, 409, "Diese Zeit ist inzwischen ausgebucht."),
    FormCase(
        "full slot, in English",
        {"start": slot("11:00")},
        409,
        "This time has just been fully booked.",
        lang="en",
    ),
    FormCase(
        "bad contact, in English",
        {"start": slot("09:00"), "contact": "?"},
        422,
        "Please give an e-mail address or phone number",
        lang="en",
    ),
]


@pytest.mark.parametrize("case", FORM_CASES, ids=[c.name for c in FORM_CASES])
async def test_the_booking_form_explains_what_is_wrong(env: Env, case: FormCase) -> None:
    """The public booking form answers bad input with the page again (422/409) and a
    readable message in the visitor's language; nothing is booked."""
    await fill(env.http, slot("11:00"))
    before = await dataset(env.redis)
    path = FORM + ("?lang=en" if case.lang == "en" else "")
    r = await env.http.post(path, headers=HTML, data={**case.form, "key": "form-key-1"})
    assert r.status_code == case.status, r.text[:500]
    assert r.headers["content-type"].startswith("text/html")
    assert case.says in r.text, r.text[:2000]
    assert 'role="alert"' in r.text and "Traceback" not in r.text
    # The one cookie of the page: the booking client's random id, never a session.
    cookies = r.headers.get_list("set-cookie")
    assert [c.split("=", 1)[0] for c in cookies] == [booking_cookie.COOKIE], cookies
    if "contact" in case.name:  # (beside its field, which says it is wrong)
        field = re.search(
            r'<input id="contact"[^>]*>\s*<p class="flash error"[^>]*>([^<]*)', r.text
        )
        assert field and case.says in field.group(1) and "aria-invalid" in field.group(0)
    if case.status == 409:
        # The next free slots, offered as buttons.
        assert f'value="{slot("11:20")}"' in r.text
    assert await dataset(env.redis) == before, "a refused form booked something"


async def test_the_booking_form_books_once_per_rendered_form(env: Env) -> None:
    """A good form redirects to the booking's page; the same form posted twice books one
    place."""
    page = await env.http.get(FORM, headers=HTML)
    assert page.status_code == 200
    key = re.search(r'name="key" value="([^"]+)"', page.text)
    assert key
    form = {"key": key.group(1), "start": slot("09:00"), "contact": ""}
    first = await env.http.post(FORM, headers=HTML, data=form)
    second = await env.http.post(FORM, headers=HTML, data=form)
    assert first.status_code == second.status_code == 303, first.text
    assert first.headers["location"] == second.headers["location"]
    found = re.fullmatch(
        r"/appointments/([2-9A-Z]{4}-[2-9A-Z]{4})\?new=1", first.headers["location"]
    )
    assert found, first.headers["location"]
    assert await free_at(env.http, slot("09:00")) == 2
    shown = await env.http.get(first.headers["location"], headers=HTML)
    assert shown.status_code == 200 and found.group(1) in shown.text


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize(
    ("lang", "says", "link"),
    [
        (
            "de",
            "Am Standort Jobcenter Süd gibt es dieses Anliegen nicht, oder es wird "
            "dort ohne Termin bedient.",
            "Zu den Anliegen mit Termin",
        ),
        (
            "en",
            "There is no such service at Job centre South, or it takes no appointments there.",
            "To the services with appointments",
        ),
    ],
)
@pytest.mark.parametrize("queue", ["ZZ", "A"], ids=["unknown", "without appointments"])
async def test_a_concern_not_offered_here_says_so_and_links_to_the_ones_that_are(
    env: Env, queue: str, lang: str, says: str, link: str, method: str
) -> None:
    """The booking address of a concern the location does not have, or serves without
    appointments, answers 404 in the reader's language saying so (not a word about codes)
    and links to the location's concerns with appointments."""
    query = "?lang=en" if lang == "en" else ""
    before = await dataset(env.redis)
    r = await env.http.request(
        method,
        f"/locations/sued/appointments/{queue}{query}",
        headers=HTML,
        data={"start": slot("09:00"), "key": "k"} if method == "POST" else None,
    )
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    alert = re.search(r'<p role="alert">([^<]*)</p>', r.text)
    assert alert and says in alert.group(1), r.text[:2000]
    assert "code" not in alert.group(1).lower()
    assert re.search(rf'<a [^>]*href="/locations/sued/appointments{re.escape(query)}"', r.text)
    assert f">{link}</a>" in r.text
    assert await dataset(env.redis) == before


FORM_POST = {"Accept": "text/html", "Content-Type": "application/x-www-form-urlencoded"}


async def test_the_move_form_explains_and_moves_nothing(env: Env) -> None:
    """The public move form: a full slot or a bad time answers the page with the German
    message (409/422) and leaves the booking; a free slot moves it."""
    code = (await book(env.http, slot("09:00")))["code"]
    await fill(env.http, slot("11:00"))
    before = await dataset(env.redis)
    full = await env.http.post(
        f"/appointments/{code}/move", headers=HTML, data={"start": slot("11:00")}
    )
    assert full.status_code == 409, full.text[:300]
    assert "Diese Zeit ist inzwischen ausgebucht." in full.text
    assert f'value="{slot("11:20")}"' in full.text
    bad = await env.http.post(f"/appointments/{code}/move", headers=HTML, data={"start": "gleich"})
    assert bad.status_code == 422 and "Diese Uhrzeit kann nicht (mehr) gebucht" in bad.text
    none = await env.http.post(f"/appointments/{code}/move", headers=HTML, data={"x": ""})
    assert none.status_code == 422 and "Bitte wählen Sie eine Uhrzeit." in none.text
    assert await dataset(env.redis) == before
    moved = await env.http.post(
        f"/appointments/{code}/move", headers=HTML, data={"start": slot("10:00")}
    )
    assert moved.status_code == 303
    assert moved.headers["location"] == f"/appointments/{code}?moved=1"
    assert (await appointment(env.http, code))["start"] == slot("10:00")


async def test_a_form_sent_back_with_an_error_stays_on_its_day(env: Env) -> None:
    """Booking or moving to Tuesday with a mistake answers with Tuesday's slots, not
    Monday's: the day the person had picked is kept."""
    page = await env.http.get(FORM + f"?date={TUESDAY}", headers=HTML)
    assert f'name="date" value="{TUESDAY}"' in page.text
    for form in (
        {"date": str(TUESDAY), "start": slot("09:00", TUESDAY), "contact": "Anna"},
        {"date": str(TUESDAY)},  # no time picked
    ):
        r = await env.http.post(FORM, headers=HTML, data={**form, "key": "k"})
        assert r.status_code == 422, r.text[:300]
        assert f'value="{slot("09:00", TUESDAY)}"' in r.text
        assert f'value="{slot("09:00")}"' not in r.text
    code = (await book(env.http, slot("09:00")))["code"]
    r = await env.http.post(
        f"/appointments/{code}/move",
        headers=HTML,
        data={"date": str(TUESDAY), "start": "gleich"},
    )
    assert r.status_code == 422 and f'value="{slot("10:00", TUESDAY)}"' in r.text


async def test_the_move_page_opens_on_the_booked_day(env: Env) -> None:
    """Moving a Tuesday appointment starts from Tuesday's slots, not from the first day
    that can be booked; another day is one link away."""
    code = (await book(env.http, slot("09:00", TUESDAY)))["code"]
    r = await env.http.get(f"/appointments/{code}/move", headers=HTML)
    assert r.status_code == 200
    assert f'name="date" value="{TUESDAY}"' in r.text
    assert f'value="{slot("09:20", TUESDAY)}"' in r.text
    assert f'value="{slot("09:20")}"' not in r.text
    monday = await env.http.get(f"/appointments/{code}/move?date={MONDAY}", headers=HTML)
    assert f'value="{slot("09:20")}"' in monday.text


async def test_a_cancelled_booking_offers_no_move(env: Env) -> None:
    """The move page of a cancelled booking leads to the booking's page, which says it is
    cancelled, instead of offering times it cannot take."""
    code = (await book(env.http, slot("09:00")))["code"]
    await env.http.post(f"/appointments/{code}/cancel", headers=FORM_POST, content=b"")
    r = await env.http.get(f"/appointments/{code}/move", headers=HTML)
    assert r.status_code == 303 and r.headers["location"] == f"/appointments/{code}"
    r = await env.http.post(
        f"/appointments/{code}/move", headers=HTML, data={"start": slot("10:00")}
    )  # the move form still open in another tab
    assert r.status_code == 303 and r.headers["location"] == f"/appointments/{code}"


async def test_the_cancel_form_cancels_and_the_page_says_so(env: Env) -> None:
    """The cancel button on the booking's page cancels it; the page then says so and offers
    no cancel button any more."""
    code = (await book(env.http, slot("09:00")))["code"]
    r = await env.http.post(f"/appointments/{code}/cancel", headers=FORM_POST, content=b"")
    assert r.status_code == 303 and r.headers["location"] == f"/appointments/{code}"
    page = await env.http.get(r.headers["location"], headers=HTML)
    assert "Dieser Termin ist abgesagt. Die Zeit ist wieder frei." in page.text
    assert "/cancel" not in page.text
    assert await free_at(env.http, slot("09:00")) == 3


# --- 8. the estimate ----------------------------------------------------------------------


def estimate_of(r: httpx.Response, queue: str) -> int | None:
    value = queue_of(r.json(), queue)["estimated_wait_s"]
    assert value is None or isinstance(value, int)
    return value


async def test_expected_appointments_lengthen_the_walk_in_estimate(env: Env) -> None:
    """With counter 2 alone open, bookings due within the hour take its time: a new walk-in
    ticket's estimate grows when they are booked, and shrinks back when they cancel."""
    await open_counter_2(env.http)
    for _ in range(10):
        await issue(env.http, "A")
    snap = await get_when(
        env.http,
        "/api/v1/locations/sued",
        lambda r: queue_of(r.json(), "A")["waiting"] == 10 and estimate_of(r, "A") is not None,
        "10 waiting in A, estimated",
    )
    without = estimate_of(snap, "A")
    assert without is not None
    codes = [*await fill(env.http, slot("08:40")), *await fill(env.http, slot("09:00"))]
    snap = await get_when(
        env.http,
        "/api/v1/locations/sued",
        lambda r: (estimate_of(r, "A") or 0) > without,
        f"the A estimate to grow past {without} s with 6 bookings due",
    )
    with_bookings = estimate_of(snap, "A")
    assert with_bookings is not None
    # Six appointments of 15 minutes at the counter: far more than a few seconds.
    assert with_bookings - without >= 15 * 60, (without, with_bookings)
    for code in codes:
        r = await env.http.post(f"/api/v1/appointments/{code}/cancel")
        assert r.status_code == 200
    await get_when(
        env.http,
        "/api/v1/locations/sued",
        lambda r: estimate_of(r, "A") == without,
        f"the A estimate back at {without} s once all cancelled",
    )


async def test_a_missed_appointment_no_longer_holds_the_counter(env: Env) -> None:
    """A booking nobody checked in for by 10 minutes after its slot stops counting."""
    await open_counter_2(env.http)
    await fill(env.http, slot("08:40"))
    env.at("08:30")
    for _ in range(3):
        await issue(env.http, "A")
    snap = await get_when(
        env.http,
        "/api/v1/locations/sued",
        lambda r: queue_of(r.json(), "A")["waiting"] == 3 and estimate_of(r, "A") is not None,
        "3 waiting in A",
    )
    during = estimate_of(snap, "A")
    assert during is not None
    env.at("08:51")  # nobody came for 08:40: missed
    await issue(env.http, "B")  # a change, so the live view is computed anew
    await get_when(
        env.http,
        "/api/v1/locations/sued",
        lambda r: queue_of(r.json(), "B")["waiting"] == 1 and (estimate_of(r, "A") or 0) < during,
        "the A estimate to drop once the 08:40 bookings are missed",
    )


# --- 9. the staff's list and the contact ----------------------------------------------------

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


# --- 10. what Redis keeps -----------------------------------------------------------------


async def test_the_code_is_nowhere_in_redis(env: Env) -> None:
    """After booking, looking up, moving, checking in (API, terminal form, key) and
    cancelling, no key and no value in Redis holds a code in clear."""
    codes = [
        (await book(env.http, slot("08:40"), contact="anna@example.org"))["code"],
        (await book(env.http, slot("09:00"), key="idem-1"))["code"],
        (await book(env.http, slot("09:20")))["code"],
        (await book(env.http, slot("10:00", TUESDAY)))["code"],
    ]
    await appointment(env.http, codes[0])
    await env.http.get(f"/appointments/{codes[0]}.ics")
    await env.http.post(f"/api/v1/appointments/{codes[1]}/move", json={"start": slot("09:40")})
    await env.http.post(f"/api/v1/appointments/{codes[3]}/cancel")
    env.at("08:50")  # 08:40 and 09:20 may check in; 09:40 (the moved one) not yet
    r = await env.http.post(
        CHECK_IN,
        json={"code": codes[0]},
        headers={**auth("reception-sued"), "Idempotency-Key": "ci-1"},
    )
    assert r.status_code == 201, r.text
    async with httpx.AsyncClient(base_url=env.url, timeout=TIMEOUT) as kiosk:
        await log_in(kiosk, "terminal-sued")
        start = await kiosk.get("/terminal/sued", headers=HTML)
        done = await kiosk.post(
            "/terminal/sued/check-in",
            headers=HTML,
            data={"csrf": csrf_of(start.text), "key": "k-terminal", "code": codes[2].lower()},
        )
        assert done.status_code == 200 and "ticket-number" in done.text
    problem(await check_in(env.http, codes[1]), 409, "booking_too_early")
    blobs = await everything_in(env.redis)
    assert blobs, "Redis is empty: the test looked in the wrong place"
    for code in codes:
        for form in {code, bare(code), code.lower(), bare(code).lower()}:
            found = [b for b in blobs if form.encode() in b]
            assert not found, f"{form} is in Redis: {found[:3]}"
    digests = {hashlib.sha256(bare(c).encode()).hexdigest().encode() for c in codes}
    assert any(d in b for d in digests for b in blobs), "the bookings are not in Redis"


def office_with_appointments_everywhere() -> Office:
    """The test office with queue T (the same plan) at both Süd and Nord."""
    raw = tomllib.loads(OFFICE_PATH.read_text(encoding="utf-8"))
    for loc in raw["locations"]:
        loc["queues"].append(
            {
                "id": "T",
                "name": "Termin",
                "service_minutes": 15,
                "appointments": dict(APPOINTMENT_PLAN),
            }
        )
        loc["counters"][0]["queues"] = [*loc["counters"][0]["queues"], "T"]
    return parse_office(raw, source=str(OFFICE_PATH))


async def test_one_code_names_one_booking_across_locations(
    redis_server: EmbeddedRedis, redis: Redis
) -> None:
    """Two bookings at two locations never share a code, even when their clients happen to
    use the same Idempotency-Key: each code finds, and cancels, its own booking."""
    clock = SettableClock(MONDAY_8)
    async with (
        live_server(redis_server.url, office_with_appointments_everywhere(), clock=clock) as srv,
        httpx.AsyncClient(base_url=srv.url, timeout=TIMEOUT) as http,
    ):
        body = {"queue": "T", "start": slot("09:00")}
        sued = await http.post(
            "/api/v1/locations/sued/appointments", json=body, headers={"Idempotency-Key": "order-1"}
        )
        nord = await http.post(
            "/api/v1/locations/nord/appointments", json=body, headers={"Idempotency-Key": "order-1"}
        )
        assert sued.status_code == 201, sued.text
        if nord.status_code == 201:
            assert nord.json()["code"] != sued.json()["code"], (
                f"two bookings at two locations got the same code {sued.json()['code']}"
            )
            found = await http.get(f"/api/v1/appointments/{nord.json()['code']}")
            assert found.json()["location"] == "nord"
        else:
            problem(nord, 422)


async def test_the_day_roll_learns_how_many_bookings_come_on_time(env: Env) -> None:
    """Four booked on Monday: two on time, one late, one not at all. The first command on
    Tuesday counts the missing one and learns a show-up share of one half, which the
    estimate then applies to the bookings still to come."""
    codes = [(await book(env.http, slot(t)))["code"] for t in ("09:00", "09:20", "09:40", "10:00")]
    for code, when in ((codes[0], "08:55"), (codes[1], "09:15"), (codes[2], "10:00")):
        env.at(when)
        r = await env.http.post(CHECK_IN, json={"code": code}, headers=auth("terminal-sued"))
        assert r.status_code == 201, r.text
    env.at("07:30", TUESDAY)
    await book(env.http, slot("09:00", TUESDAY))  # the first command of the new day
    learn = await env.redis.hgetall(keys.learned("sued"))
    assert float(learn[b"show:T"]) == 0.5 and learn[b"show:T:n"] == b"1"
    stats = await env.redis.hgetall(keys.day_stats("sued", "2026-11-30"))
    assert float(stats[b"missed:T"]) == 1 and float(stats[b"on_time:T"]) == 2
    assert float(stats[b"late:T"]) == 1


async def test_people_of_one_slot_are_called_in_the_order_they_came(env: Env) -> None:
    """Three booked for 09:00: two come early, one of them is called, the third comes
    later - the one who waited longer is called before the newcomer."""
    codes = [(await book(env.http, slot("09:00")))["code"] for _ in range(3)]
    env.at("08:40")
    first = (await check_in(env.http, codes[0])).json()
    second = (await check_in(env.http, codes[1])).json()
    await open_counter_2(env.http)
    env.at("08:59")
    assert (await call_and_finish(env.http))["id"] == first["id"]
    env.at("09:01")
    third = (await check_in(env.http, codes[2])).json()
    assert [(await call_and_finish(env.http))["id"] for _ in range(2)] == [
        second["id"],
        third["id"],
    ]


async def test_too_late_after_closing_or_at_a_ticket_stop_is_refused_like_a_walk_in(
    redis_server: EmbeddedRedis, redis: Redis
) -> None:
    """Late for the last slot after Süd closed at 12:00: the terminal says it is closed
    and issues nothing (reception still can); late into a full walk-in queue: the ticket
    stop, as for everyone."""
    clock = SettableClock(MONDAY_8)
    office = office_with_appointments(location_hours={"mon": "08:00-12:00"}, walk_in_queue="B")
    async with (
        live_server(redis_server.url, office, clock=clock) as srv,
        httpx.AsyncClient(base_url=srv.url, timeout=TIMEOUT) as http,
    ):
        late_ones = [(await book(http, slot("11:40")))["code"] for _ in range(2)]
        clock.now = local("12:05")
        before = await dataset(redis)
        problem(await check_in(http, late_ones[0]), 409, "queue_closed")
        assert await dataset(redis) == before
        r = await check_in(http, late_ones[0], device="reception-sued")
        assert r.status_code == 201 and r.json()["late"] is True, r.text
        for _ in range(2):  # B's ticket stop is 3: with the late one it is full
            await issue(http, "B")
        before = await dataset(redis)
        problem(await check_in(http, late_ones[1], device="reception-sued"), 409, "ticket_stop")
        assert await dataset(redis) == before


async def test_the_contact_cannot_be_recovered_from_the_booking(env: Env) -> None:
    """Once the contact is gone, nothing left in Redis is a plain digest of it: the
    booking's request fingerprint is keyed with the server's secret."""
    contact = "+49 151 2345678"
    start = slot("09:00")
    booked = (
        await env.http.post(
            BOOK,
            json={"queue": "T", "start": start, "contact": contact},
            headers={"Idempotency-Key": "k-contact"},
        )
    ).json()
    r = await env.http.post(f"/api/v1/appointments/{booked['code']}/cancel")
    assert r.status_code == 200, r.text
    plain = (
        hashlib.sha256(f"sued|T|{datetime.fromisoformat(start).timestamp():.0f}|{contact}".encode())
        .hexdigest()
        .encode()
    )
    assert not any(plain in value for value in await everything_in(env.redis))
    assert not any(contact.encode() in value for value in await everything_in(env.redis))
