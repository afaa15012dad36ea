"""The estimate with appointments: expected bookings lengthen the walk-in wait; a missed one no
longer holds a counter."""

from __future__ import annotations

import httpx

from tests.appointments.support import (
    Env,
    fill,
    issue,
    open_counter_2,
    slot,
)
from tests.helpers import (
    get_when,
    queue_of,
)


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
