"""The pace of a queue's calls, learned by the Lua scripts and read by the estimate: when
a queue's counters get slower, the wait told to the next person follows at once, not only
as the slow tickets end."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from tests.helpers import SettableClock
from waitboard.core import snapshot
from waitboard.core.domain import Action
from waitboard.core.estimate import CounterNow, Learned
from waitboard.core.office import Office
from waitboard.core.pace import PACE_TAU_S, Pace, pace_wait_s, pace_waits
from waitboard.store.office_store import Store


async def called_every(store: Store, clock: SettableClock, minutes: float, times: int) -> None:
    """Counter 1 (queue A alone) calls the next, finishes it and calls again."""
    for _ in range(times):
        clock.now += timedelta(minutes=minutes)
        outcome = await store.call_next("sued", "1")
        assert outcome.ticket is not None
        await store.act(outcome.ticket.id, Action.START, counters=None)
        await store.act(outcome.ticket.id, Action.COMPLETE, counters=None)


async def told_to_a_newcomer(store: Store, office: Office, clock: SettableClock) -> float:
    loc = office.location_by_id["sued"]
    state = await store.location_state("sued")
    fc = snapshot.forecast(loc, state, clock.now, office.tz)
    waiting = state.queues["A"].waiting
    wait = fc.raw("A", waiting + 1)
    assert wait is not None
    return wait


async def test_the_pace_of_calls_is_learned_and_moves_the_estimate(
    redis: Redis, office: Office
) -> None:
    clock = SettableClock(datetime(2026, 11, 25, 8, 0, tzinfo=UTC))
    store = Store(redis, office, clock)
    await store.set_counter("sued", "1", True)
    for _ in range(30):
        await store.issue("sued", "A", "reception-sued")
    await called_every(store, clock, 2, 10)  # a call every 2 minutes
    learn = (await store.location_state("sued")).learn
    # Ten calls, the older ones faded: each counts e^(-age / tau).
    expected = sum(math.exp(-k * 120 / PACE_TAU_S) for k in range(10))
    assert learn["pace:A"] == pytest.approx(expected, rel=1e-6)
    steady = await told_to_a_newcomer(store, office, clock)
    await called_every(store, clock, 6, 4)  # the counter slows to one every 6 minutes
    slow = await told_to_a_newcomer(store, office, clock)
    # Fewer people are ahead now, and yet the wait told grew: the pace saw the slowdown.
    assert slow > steady
    # An hour without any call: the pace has faded and says nothing any more.
    clock.now += timedelta(seconds=5 * PACE_TAU_S)
    learned = Learned.parse((await store.location_state("sued")).learn)
    assert pace_wait_s(learned.pace.get("A"), 1, clock.now.timestamp()) is None


def test_the_pace_applies_behind_whoever_a_free_counter_takes(office: Office) -> None:
    """Two counters serve A alone. With both busy, the first in line is called when one of
    them finishes - at the pace of the calls; with one of them free, at once - the pace
    would only delay them - but those behind them wait at the pace."""
    loc = office.location_by_id["sued"]
    busy = [CounterNow("1", ("A",), "A", 60.0), CounterNow("2", ("A",), "A", 30.0)]
    one_free = [busy[0], CounterNow("2", ("A",), None)]
    assert snapshot.paced_queues(loc, busy, {"A": 1}) == {"A": 1}
    assert snapshot.paced_queues(loc, one_free, {"A": 0}) == {"A": 2}
    pc = Pace(count=6.0, at_s=1000.0, from_s=0.0, calls=20)  # six calls in ten minutes
    first, second = pace_waits(pc, 2, 1_000_000, first=2)
    assert first is None and second == pace_wait_s(pc, 2, 1000.0)
    shared = [busy[0], CounterNow("2", ("B", "A"), "A", 30.0)]
    assert "A" not in snapshot.paced_queues(loc, shared, {"A": 5})  # shares its time with B
