"""What Redis keeps of a booking: never the code, one code per booking across locations, and
what the day roll learns."""

from __future__ import annotations

import hashlib
import tomllib
from datetime import datetime

import httpx
from redis.asyncio import Redis

from tests.appointments.support import (
    BOOK,
    CHECK_IN,
    HTML,
    TUESDAY,
    Env,
    appointment,
    bare,
    book,
    call_and_finish,
    check_in,
    everything_in,
    issue,
    local,
    log_in,
    open_counter_2,
    problem,
    slot,
)
from tests.helpers import (
    APPOINTMENT_PLAN,
    MONDAY_8,
    OFFICE_PATH,
    TIMEOUT,
    SettableClock,
    auth,
    dataset,
    live_server,
    office_with_appointments,
)
from tests.test_staff import csrf_of
from waitboard.core.office import Office, parse_office
from waitboard.store import keys
from waitboard.store.embedded import EmbeddedRedis


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
