"""Who is called first: due appointments before walk-ins, in the order of their slots."""

from __future__ import annotations

from tests.appointments.support import (
    Env,
    book,
    call_and_finish,
    call_next,
    check_in,
    issue,
    open_counter_2,
    slot,
)


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
