"""A queue's usual hours: what the same weekday's hour usually brings is weighed in, so a
wait told at 11:40 knows that fewer are called at lunchtime as a rule."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from redis.asyncio import Redis

from tests.helpers import SettableClock
from waitboard.core import snapshot
from waitboard.core.domain import Action
from waitboard.core.estimate import Learned
from waitboard.core.office import Office
from waitboard.core.pace import pace_wait_s
from waitboard.core.usual import (
    PACE_HORIZON_S,
    USUAL_MIN_DAYS,
    USUAL_WEIGHT,
    as_rates,
    rate_field,
    usual_waits,
    weighed,
    with_usual,
)
from waitboard.store.office_store import Store

BERLIN = ZoneInfo("Europe/Berlin")
TUESDAY = datetime(2026, 11, 24, 11, 40, tzinfo=BERLIN)


def rates(hours: dict[int, float], days: int = USUAL_MIN_DAYS) -> dict[str, float]:
    out: dict[str, float] = {}
    for hour, per_hour in hours.items():
        out[rate_field("A", TUESDAY.weekday(), hour)] = per_hour
        out[rate_field("A", TUESDAY.weekday(), hour) + ":n"] = days
    return out


def test_the_usual_rate_is_named_by_queue_weekday_and_hour() -> None:
    """An operator reading the learned values sees "rate:A@tue12": queue, weekday, hour."""
    assert rate_field("A", TUESDAY.weekday(), 12) == "rate:A@tue12"


def test_positions_are_called_at_the_usual_rate_of_this_hour_and_the_coming_ones() -> None:
    """At 11:40, usually 30 an hour at 11 and 10 at 12: ten are called by 12:00 (one every
    2 minutes), the eleventh 6 minutes after."""
    got = usual_waits(rates({11: 30.0, 12: 10.0}), "A", TUESDAY, 11)
    assert got[0] == 120.0
    assert got[9] == 20 * 60
    assert got[10] == 26 * 60


def test_an_hour_not_learned_goes_at_the_rate_of_the_hour_before() -> None:
    """Nothing learned for 12:00: the queue is taken to go on as at 11:00."""
    assert usual_waits(rates({11: 30.0}), "A", TUESDAY, 11)[10] == 22 * 60


def test_without_this_hour_s_usual_rate_there_is_nothing_to_weigh_in() -> None:
    """Too few Tuesdays seen, or none at this hour: the forecast is left alone."""
    assert usual_waits(rates({11: 30.0}, days=USUAL_MIN_DAYS - 1), "A", TUESDAY, 2) == [None] * 2
    assert usual_waits(rates({12: 30.0}), "A", TUESDAY, 1) == [None]
    assert with_usual(600.0, None) == 600.0
    assert with_usual(None, 600.0) is None


def test_the_usual_rate_and_the_forecast_are_weighed() -> None:
    """Half and half: the forecast of the moment and what this hour usually brings."""
    assert with_usual(600.0, 1200.0) == USUAL_WEIGHT * 1200.0 + (1 - USUAL_WEIGHT) * 600.0


def test_the_pace_and_the_usual_hours_are_weighed_as_rates() -> None:
    """The last minutes called one every 160 s, Tuesdays at this hour usually one every
    90 s: a wait of about ``PACE_HORIZON_S`` weighs them alike, at the rate between them
    (one every 120 s); the next in line leans on the pace, the 40th on the usual hours."""
    assert as_rates(10 * 160.0, 10 * 90.0) == pytest.approx(PACE_HORIZON_S)
    assert PACE_HORIZON_S == 10 * 120
    next_in_line = as_rates(160.0, 90.0)
    assert 160.0 - next_in_line < next_in_line - 90.0
    fortieth = as_rates(40 * 160.0, 40 * 90.0)
    assert fortieth - 40 * 90.0 < 40 * 160.0 - fortieth


def test_what_is_known_of_a_position_decides_how_its_wait_is_weighed() -> None:
    """Pace and usual hours known: the two as rates, the counters left out. Only the
    pace: the counters weighed with it. Only the usual hours: half and half with the
    counters. Neither: the counters alone."""
    counters, paced, pace, usual = 600.0, 500.0, 480.0, 900.0
    assert weighed(counters, paced, pace, usual) == as_rates(pace, usual)
    assert weighed(counters, paced, pace, None) == paced
    assert weighed(counters, paced, None, usual) == with_usual(counters, usual)
    assert weighed(counters, None, None, None) == counters
    assert weighed(None, None, None, usual) is None  # no counter open: unknown


async def a_tuesday(store: Store, clock: SettableClock, day: datetime) -> None:
    """Queue A's people are called at 9:05, 9:10 and 9:20, and one at 10:00."""
    clock.now = day.replace(hour=8, minute=55)
    for c in ("1", "2"):
        await store.set_counter("sued", c, True)
    for _ in range(4):
        await store.issue("sued", "A", "reception-sued")
    for hour, minute, counter in ((9, 5, "1"), (9, 10, "2"), (9, 20, "1"), (10, 0, "1")):
        clock.now = day.replace(hour=hour, minute=minute)
        outcome = await store.call_next("sued", counter)
        assert outcome.ticket is not None
        await store.act(outcome.ticket.id, Action.START, counters=None)
        await store.act(outcome.ticket.id, Action.COMPLETE, counters=None)


async def test_the_usual_rate_per_weekday_and_hour_is_learned_and_weighed_in(
    redis: Redis, office: Office
) -> None:
    """Three Tuesdays with three calls from 9:05 to 9:20 (about 6 an hour read from their
    spread: 3 x 2/4 in a quarter of an hour) and one at 10: on the fourth, at 9:55 with
    thirty waiting, the newcomer is told a longer wait than the moment alone would say."""
    clock = SettableClock(TUESDAY)
    store = Store(redis, office, clock)
    for week in range(3):
        await a_tuesday(store, clock, TUESDAY + timedelta(weeks=week))
    learn = (await store.location_state("sued")).learn
    assert learn["rate:A@tue09"] == pytest.approx(6.0)
    assert learn["rate:A@tue09:n"] == 3
    assert "rate:A@tue10" not in learn  # one call says nothing of a rate
    assert not any(name.startswith("usual_") for name in learn)  # bookkeeping stays in Redis
    fourth = TUESDAY + timedelta(weeks=3)
    clock.now = fourth.replace(hour=8, minute=0)
    await store.set_counter("sued", "1", True)
    await store.set_counter("sued", "2", True)
    for _ in range(30):
        await store.issue("sued", "A", "reception-sued")
    clock.now = fourth.replace(hour=9, minute=55)
    state = await store.location_state("sued")
    loc = office.location_by_id["sued"]
    waiting = state.queues["A"].waiting
    told = snapshot.forecast(loc, state, clock.now, office.tz).raw("A", waiting + 1)
    moment = dataclasses.replace(
        state, learn={k: v for k, v in state.learn.items() if not k.startswith("rate:")}
    )
    alone = snapshot.forecast(loc, moment, clock.now, office.tz).raw("A", waiting + 1)
    assert told is not None and alone is not None
    # Usually 6 an hour: 31 positions take about 5 hours; half of that is weighed in.
    assert told == pytest.approx(
        USUAL_WEIGHT * 31 / 6 * 3600 + (1 - USUAL_WEIGHT) * alone, rel=0.01
    )
    # Counter 2 (it shares its time with queue B) closes, counter 1 (A alone) calls five
    # before 10:00: the pace of the moment and the usual hours are weighed as rates now,
    # the counters' forecast is left out.
    await store.set_counter("sued", "2", False)
    for minute in range(5):
        clock.now = fourth.replace(hour=9, minute=55, second=30) + timedelta(minutes=minute)
        outcome = await store.call_next("sued", "1")
        assert outcome.ticket is not None
        await store.act(outcome.ticket.id, Action.START, counters=None)
        await store.act(outcome.ticket.id, Action.COMPLETE, counters=None)
    state = await store.location_state("sued")
    waiting = state.queues["A"].waiting
    now = clock.now
    at_pace = pace_wait_s(Learned.parse(state.learn).pace["A"], waiting + 1, now.timestamp())
    usual = usual_waits(state.learn, "A", now.astimezone(BERLIN), waiting + 1)[-1]
    assert at_pace is not None and usual is not None
    told = snapshot.forecast(loc, state, now, office.tz).raw("A", waiting + 1)
    assert told == pytest.approx(as_rates(at_pace, usual))
