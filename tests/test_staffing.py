"""The usual staffing of the coming hours: a wait that runs into an hour with fewer (or
more) counters as a rule is told at that hour's speed, not at today's count."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from tests.helpers import SettableClock
from waitboard.core import snapshot
from waitboard.core.domain import Action
from waitboard.core.office import Office
from waitboard.core.staffing import (
    MAX_SHARE,
    MIN_SHARE,
    STAFF_MIN_DAYS,
    speeds,
    staff_field,
    stretched,
    usual_staff,
)
from waitboard.store.office_store import Store

BERLIN = ZoneInfo("Europe/Berlin")
TUESDAY = datetime(2026, 11, 24, 11, 40, tzinfo=BERLIN)


def learned(hours: dict[int, float], days: int = STAFF_MIN_DAYS) -> dict[str, float]:
    out: dict[str, float] = {}
    for hour, counters in hours.items():
        out[staff_field("A", TUESDAY.weekday(), hour)] = counters
        out[staff_field("A", TUESDAY.weekday(), hour) + ":n"] = days
    return out


def test_the_usual_staffing_is_named_by_queue_weekday_and_hour() -> None:
    """An operator reading the learned values sees "staff:A@tue12": queue, weekday, hour."""
    assert staff_field("A", TUESDAY.weekday(), 12) == "staff:A@tue12"


def test_a_wait_within_this_hour_is_left_as_it_is() -> None:
    """Only the part of a wait beyond this hour moves with the coming hours' counters."""
    assert stretched(15 * 60, TUESDAY, [0.5, 0.5]) == 15 * 60


def test_fewer_counters_as_a_rule_in_the_coming_hour_lengthen_the_wait() -> None:
    """At 11:40, 30 minutes at today's speed: 20 of them before 12:00, the other 10 at half
    the speed (half the counters usually at 12:00) take 20 - 40 minutes in all."""
    assert stretched(30 * 60, TUESDAY, [0.5]) == 40 * 60


def test_more_counters_as_a_rule_shorten_it() -> None:
    """Twice the counters usually at 12:00: the 10 minutes after 12:00 take 5."""
    assert stretched(30 * 60, TUESDAY, [2.0]) == 25 * 60


def test_speeds_are_the_usual_counters_over_those_open_now() -> None:
    """5 open at 11:40, usually 3 at 12:00 and 5 at 13:00: 12:00 goes at 3/5 of the speed."""
    got = speeds(learned({12: 3.0, 13: 5.0}), "A", TUESDAY, open_now=5)
    assert got[:2] == [0.6, 1.0]
    assert all(s == 1.0 for s in got[2:])  # not learned: as now


def test_an_hour_seen_on_too_few_days_counts_as_now() -> None:
    """Two Tuesdays are not yet a rule: the hour is played with today's counters."""
    assert usual_staff(learned({12: 1.0}, days=STAFF_MIN_DAYS - 1), "A", 1, 12) is None
    assert speeds(learned({12: 1.0}, days=STAFF_MIN_DAYS - 1), "A", TUESDAY, 5)[0] == 1.0


def test_odd_usual_staffing_cannot_make_a_wait_endless_or_vanish() -> None:
    """One counter usually left against ten open now, or twenty against one: bounded."""
    assert speeds(learned({12: 1.0}), "A", TUESDAY, open_now=10)[0] == MIN_SHARE
    assert speeds(learned({12: 20.0}), "A", TUESDAY, open_now=1)[0] == MAX_SHARE
    assert speeds(learned({12: 3.0}), "A", TUESDAY, open_now=0)[0] == 1.0


def test_an_unknown_wait_stays_unknown() -> None:
    """No number (no counter open) is not turned into one."""
    assert stretched(None, TUESDAY, [0.5]) is None


async def a_tuesday(store: Store, clock: SettableClock, day: datetime) -> None:
    """Counters 1 and 2 both call queue A's tickets at 9, counter 1 alone at 10."""
    clock.now = day.replace(hour=8, minute=55)
    for c in ("1", "2"):
        await store.set_counter("sued", c, True)
    for _ in range(4):
        await store.issue("sued", "A", "reception-sued")
    for minute, counter in ((5, "1"), (10, "2"), (20, "1"), (0, "1")):
        clock.now = day.replace(hour=9 if minute else 10, minute=minute)
        outcome = await store.call_next("sued", counter)
        assert outcome.ticket is not None
        await store.act(outcome.ticket.id, Action.START, counters=None)
        await store.act(outcome.ticket.id, Action.COMPLETE, counters=None)


async def test_the_counters_at_work_per_weekday_and_hour_are_learned_and_used(
    redis: Redis, office: Office
) -> None:
    """Three Tuesdays with two counters at 9 and one at 10: on the fourth, at 9:57 with
    two open, a newcomer's wait that runs past 10:00 is told longer than today's count
    alone would say."""
    clock = SettableClock(TUESDAY)
    store = Store(redis, office, clock)
    for week in range(3):
        await a_tuesday(store, clock, TUESDAY + timedelta(weeks=week))
    learn = (await store.location_state("sued")).learn
    assert learn["staff:A@tue09"] == 2.0
    assert learn["staff:A@tue09:n"] == 3
    assert not any(name.startswith("staff_") for name in learn)  # bookkeeping stays in Redis
    # (10:00 of the third Tuesday is folded in at the queue's next call in a later hour.)
    fourth = TUESDAY + timedelta(weeks=3)
    clock.now = fourth.replace(hour=8, minute=0)
    await store.set_counter("sued", "1", True)
    await store.set_counter("sued", "2", True)
    for _ in range(30):
        await store.issue("sued", "A", "reception-sued")
    outcome = await store.call_next("sued", "1")  # folds in the third Tuesday's 10:00
    assert outcome.ticket is not None
    clock.now = fourth.replace(hour=9, minute=57)
    state = await store.location_state("sued")
    assert state.learn["staff:A@tue10"] == 1.0
    loc = office.location_by_id["sued"]
    waiting = state.queues["A"].waiting
    usual = snapshot.forecast(loc, state, clock.now, office.tz).raw("A", waiting + 1)
    today = dataclasses.replace(
        state, learn={k: v for k, v in state.learn.items() if not k.startswith("staff:")}
    )
    as_now = snapshot.forecast(loc, today, clock.now, office.tz).raw("A", waiting + 1)
    assert usual is not None and as_now is not None
    assert as_now > 3 * 60  # it runs past 10:00 ...
    assert usual > as_now  # ... where usually only one counter calls
