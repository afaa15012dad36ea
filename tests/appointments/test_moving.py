"""Moving and cancelling a booking: the old place is freed, a full slot keeps the booking,
races give the last place once."""

from __future__ import annotations

import asyncio

from tests.appointments.support import (
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
    dataset,
)


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
