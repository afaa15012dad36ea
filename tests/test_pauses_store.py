"""Pausing a counter in Redis (counter.lua): transitions, refusals, events, learning, time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from tests.helpers import SettableClock
from waitboard.core import daystats, snapshot
from waitboard.core.domain import Action
from waitboard.core.errors import CounterBusy, CounterClosed, CounterPaused, IdempotencyMismatch
from waitboard.core.office import Office
from waitboard.core.pauses import CounterCommand, CounterMode, PauseReason
from waitboard.store import keys
from waitboard.store.idempotency import Idempotency
from waitboard.store.office_store import Store

PAUSE, RESUME = CounterCommand.PAUSE, CounterCommand.RESUME
OPEN, CLOSE = CounterCommand.OPEN, CounterCommand.CLOSE


@pytest.fixture
def clock() -> SettableClock:
    # 10:00 in Berlin on a Wednesday.
    return SettableClock(datetime(2026, 11, 25, 9, 0, tzinfo=UTC))


@pytest.fixture
def store(redis: Redis, office: Office, clock: SettableClock) -> Store:
    return Store(redis, office, clock)


async def _mode(store: Store, counter: str = "1") -> tuple[CounterMode, PauseReason | None]:
    cs = (await store.location_state("sued")).counters[counter]
    return cs.mode, cs.paused


async def _types(redis: Redis) -> list[tuple[str, str]]:
    return [
        (e[b"type"].decode(), e.get(b"reason", b"").decode())
        for _, e in await redis.xrange(keys.events("sued"))
        if e[b"type"].startswith(b"counter_")
    ]


async def test_pause_resume_close_and_open_on_a_paused_counter(store: Store, redis: Redis) -> None:
    """An open counter pauses (not open: it serves nobody), takes a new reason, resumes to
    open; open on a paused counter resumes it; close from a pause is allowed; each change
    is one event in the location's stream, repeats change nothing."""
    await store.counter_command("sued", "1", OPEN)
    await store.counter_command("sued", "1", PAUSE, PauseReason.BREAK)
    assert await _mode(store) == (CounterMode.PAUSED, PauseReason.BREAK)
    assert not (await store.location_state("sued")).counters["1"].open
    await store.counter_command("sued", "1", PAUSE, PauseReason.BREAK)  # the same: nothing
    await store.counter_command("sued", "1", PAUSE, PauseReason.MEETING)
    assert await _mode(store) == (CounterMode.PAUSED, PauseReason.MEETING)
    await store.counter_command("sued", "1", RESUME)
    assert await _mode(store) == (CounterMode.OPEN, None)
    await store.counter_command("sued", "1", RESUME)  # open already: nothing
    await store.counter_command("sued", "1", PAUSE, PauseReason.OTHER)
    await store.counter_command("sued", "1", OPEN)  # = resume
    assert await _mode(store) == (CounterMode.OPEN, None)
    await store.counter_command("sued", "1", PAUSE, PauseReason.PAPERWORK)
    await store.counter_command("sued", "1", CLOSE)
    assert await _mode(store) == (CounterMode.CLOSED, None)
    assert await _types(redis) == [
        ("counter_opened", ""),
        ("counter_paused", "break"),
        ("counter_paused", "meeting"),
        ("counter_resumed", "meeting"),
        ("counter_paused", "other"),
        ("counter_resumed", "other"),
        ("counter_paused", "paperwork"),
        ("counter_closed", ""),
    ]


async def test_refusals_leave_the_counter_as_it_was(store: Store) -> None:
    """A closed counter neither pauses nor resumes (open it first); a counter with a called
    ticket cannot pause; a paused counter calls nobody (resume it first)."""
    with pytest.raises(CounterClosed):
        await store.counter_command("sued", "1", PAUSE, PauseReason.BREAK)
    with pytest.raises(CounterClosed):
        await store.counter_command("sued", "1", RESUME)
    assert await _mode(store) == (CounterMode.CLOSED, None)
    await store.issue("sued", "A", "t")
    await store.counter_command("sued", "1", OPEN)
    called = await store.call_next("sued", "1")
    with pytest.raises(CounterBusy):
        await store.counter_command("sued", "1", PAUSE, PauseReason.BREAK)
    assert await _mode(store) == (CounterMode.OPEN, None)
    assert called.ticket is not None
    await store.act(called.ticket.id, Action.NO_SHOW, counters=["1"])
    await store.issue("sued", "A", "t")
    await store.counter_command("sued", "1", PAUSE, PauseReason.BREAK)
    with pytest.raises(CounterPaused, match="paused; resume it"):
        await store.call_next("sued", "1")
    assert (await store.location_state("sued")).queues["A"].waiting == 1


async def test_a_pause_under_an_idempotency_key_is_answered_once(store: Store) -> None:
    """A retried pause gets the first answer and changes nothing; the key with another
    request is refused."""
    await store.counter_command("sued", "1", OPEN)
    key = keys.idempotency("sued", "counter-sued-1", "k-pause")
    first = await store.counter_command(
        "sued", "1", PAUSE, PauseReason.BREAK, Idempotency(key, "fp-pause")
    )
    await store.counter_command("sued", "1", RESUME)
    again = await store.counter_command(
        "sued", "1", PAUSE, PauseReason.BREAK, Idempotency(key, "fp-pause")
    )
    assert again.replayed and not first.replayed
    assert await _mode(store) == (CounterMode.OPEN, None)
    with pytest.raises(IdempotencyMismatch):
        await store.counter_command("sued", "1", RESUME, idem=Idempotency(key, "fp-other"))


async def test_resumed_pauses_teach_the_usual_length(store: Store, clock: SettableClock) -> None:
    """Each resumed pause moves the learned length of its reason; a pause ended by closing
    teaches nothing (it did not end in a return)."""
    await store.counter_command("sued", "1", OPEN)
    await store.counter_command("sued", "1", PAUSE, PauseReason.BREAK)
    clock.now += timedelta(minutes=20)
    await store.counter_command("sued", "1", RESUME)
    learn = (await store.location_state("sued")).learn
    assert learn["pause:break"] == pytest.approx(1200) and learn["pause:break:n"] == 1
    await store.counter_command("sued", "1", PAUSE, PauseReason.MEETING)
    clock.now += timedelta(minutes=5)
    await store.counter_command("sued", "1", CLOSE)
    assert "pause:meeting" not in (await store.location_state("sued")).learn


async def test_the_day_shows_time_per_counter_state_and_pause_reason(
    store: Store, clock: SettableClock, office: Office
) -> None:
    """Open 5 min idle, 10 min serving a ticket, a 15-minute break, 3 min of paperwork
    still running: the day's figures say so per state and reason."""
    loc = office.location_by_id["sued"]
    await store.issue("sued", "A", "t")
    await store.counter_command("sued", "1", OPEN)
    clock.now += timedelta(minutes=5)
    called = await store.call_next("sued", "1")
    assert called.ticket is not None
    clock.now += timedelta(minutes=10)
    await store.act(called.ticket.id, Action.NO_SHOW, counters=["1"])
    await store.counter_command("sued", "1", PAUSE, PauseReason.BREAK)
    clock.now += timedelta(minutes=15)
    await store.counter_command("sued", "1", PAUSE, PauseReason.PAPERWORK)
    clock.now += timedelta(minutes=3)
    counts, waits = await store.day_figures("sued", "2026-11-25")
    (row,) = daystats.day(loc, "2026-11-25", counts, waits)["counter_time"]
    assert row["counter"] == "1"
    assert row["idle_s"] == 300 and row["serving_s"] == 600
    assert row["paused_break_s"] == 900 and row["paused_paperwork_s"] == 180
    assert row["paused_meeting_s"] == 0 and row["closed_s"] == 0
    assert "paused_break_s" in daystats.as_csv(daystats.day(loc, "2026-11-25", counts, waits))


async def test_a_forgotten_pause_teaches_nothing_and_counts_as_closed(
    store: Store, clock: SettableClock, office: Office
) -> None:
    """A break left running for an afternoon: the estimate stops counting on the counter
    (nobody is told a wait as if it came back any minute), and its length is not learned."""
    loc = office.location_by_id["sued"]
    await store.issue("sued", "A", "t")
    await store.counter_command("sued", "1", OPEN)
    await store.counter_command("sued", "1", PAUSE, PauseReason.BREAK)
    clock.now += timedelta(minutes=44)
    fc = snapshot.forecast(loc, await store.location_state("sued"), clock.now, office.tz)
    assert fc.raw("A", 1) is not None  # (within three usual breaks: still expected back)
    clock.now += timedelta(hours=3)
    fc = snapshot.forecast(loc, await store.location_state("sued"), clock.now, office.tz)
    assert fc.raw("A", 1) is None  # no counter expected: unknown, not "any minute"
    await store.counter_command("sued", "1", RESUME)
    assert "pause:break" not in (await store.location_state("sued")).learn


async def test_a_paused_counter_is_not_serving_but_comes_back_in_the_estimate(
    store: Store, clock: SettableClock, office: Office
) -> None:
    """A paused counter: not among the open counters, shown as paused with its reason, and
    the wait of those in its queue is about the rest of its usual break, not "unknown"."""
    loc = office.location_by_id["sued"]
    await store.issue("sued", "A", "t")
    await store.counter_command("sued", "1", OPEN)
    await store.counter_command("sued", "1", PAUSE, PauseReason.BREAK)
    clock.now += timedelta(minutes=5)
    state = await store.location_state("sued")
    snap = snapshot.snapshot(office, loc, state, clock.now)
    a = next(q for q in snap["queues"] if q["id"] == "A")
    assert a["open_counters"] == 0
    c1 = next(c for c in snap["counters"] if c["id"] == "1")
    assert (c1["open"], c1["state"], c1["pause_reason"]) == (False, "paused", "break")
    fc = snapshot.forecast(loc, state, clock.now, office.tz)
    # The one waiting is called when counter 1 is back: 15 min usual break - 5 min so far.
    assert fc.raw("A", 1) == pytest.approx(600)
