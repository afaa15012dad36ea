"""The Lua commands against the real Redis: atomic, numbered, ordered, idempotent."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from redis.asyncio import Redis

from tests.helpers import TIMEOUT, SettableClock, dataset
from waitboard.core import snapshot
from waitboard.core.domain import Action, TicketStatus
from waitboard.core.errors import (
    Conflict,
    CounterState,
    Forbidden,
    IdempotencyMismatch,
    InvalidTransition,
    NotFound,
    QueueClosed,
    TicketStop,
)
from waitboard.core.office import Office, parse_office
from waitboard.core.outcomes import OutcomeKind
from waitboard.store import keys
from waitboard.store.idempotency import Idempotency
from waitboard.store.office_store import Store
from waitboard.store.tickets import location_of_ticket, new_ticket_id


@pytest.fixture
def clock() -> SettableClock:
    # 10:00 in Berlin on a Wednesday.
    return SettableClock(datetime(2026, 11, 25, 9, 0, tzinfo=UTC))


@pytest.fixture
def store(redis: Redis, office: Office, clock: SettableClock) -> Store:
    return Store(redis, office, clock)


async def test_numbers_are_consecutive_per_queue(store: Store) -> None:
    """A001, A002, ... per queue; queues count independently."""
    numbers = [(await store.issue("sued", q, "t")).ticket.number for q in "AABAA"]  # type: ignore[union-attr]
    assert numbers == ["A001", "A002", "B001", "A003", "A004"]


async def test_ticket_ids_are_unguessable_and_name_their_location(store: Store) -> None:
    """Ids carry at least 128 random bits (22 base64url characters) and name their
    location (their hash slot); none repeats."""
    ids = {new_ticket_id("sued") for _ in range(2000)}
    assert len(ids) == 2000
    for ticket_id in list(ids)[:50]:
        assert location_of_ticket(ticket_id) == "sued"
        random_part = ticket_id[len("t_sued_") :]
        assert len(random_part) >= 22 and re.fullmatch(r"[A-Za-z0-9_-]+", random_part)
    issued = (await store.issue("sued", "A", "t")).ticket
    assert issued and location_of_ticket(issued.id) == "sued"


async def test_first_come_first_served_and_counter_preference(store: Store) -> None:
    """Counter 2 prefers B over A; within a queue the oldest ticket is called first."""
    a1 = (await store.issue("sued", "A", "t")).ticket
    a2 = (await store.issue("sued", "A", "t")).ticket
    b1 = (await store.issue("sued", "B", "t")).ticket
    await store.set_counter("sued", "2", True)
    await store.set_counter("sued", "1", True)
    first = await store.call_next("sued", "2")
    assert first.ticket and b1 and first.ticket.id == b1.id  # B before A at counter 2
    second = await store.call_next("sued", "1")
    assert second.ticket and a1 and second.ticket.id == a1.id
    await store.act(b1.id, Action.START, counters=["2"])
    await store.act(b1.id, Action.COMPLETE, counters=["2"])
    third = await store.call_next("sued", "2")
    assert third.ticket and a2 and third.ticket.id == a2.id  # B empty: A
    assert third.ticket.status is TicketStatus.CALLED and third.ticket.counter == "2"


async def test_nobody_waiting_answers_204_and_changes_nothing(store: Store, redis: Redis) -> None:
    """call-next on an empty queue is a plain 'nobody waits'."""
    await store.set_counter("sued", "1", True)
    before = await dataset(redis)
    assert (await store.call_next("sued", "1")).kind is OutcomeKind.NOTHING
    assert await dataset(redis) == before


async def test_same_idempotency_key_returns_the_same_ticket(store: Store, redis: Redis) -> None:
    """A retried issue gets the first answer again; nothing new is issued."""
    idem = Idempotency(keys.idempotency("sued", "terminal-sued", "k1"), "fp-1")
    first = await store.issue("sued", "A", "terminal-sued", idem)
    before = await dataset(redis)
    again = await store.issue("sued", "A", "terminal-sued", idem)
    assert again.replayed and not first.replayed
    assert again.ticket == first.ticket and again.position == first.position
    assert await dataset(redis) == before
    assert (await store.location_state("sued")).queues["A"].waiting == 1


async def test_reused_key_with_another_request_is_refused(store: Store, redis: Redis) -> None:
    """Same key, different body: 422, and nothing changes."""
    key = keys.idempotency("sued", "terminal-sued", "k1")
    await store.issue("sued", "A", "terminal-sued", Idempotency(key, "fp-A"))
    before = await dataset(redis)
    with pytest.raises(IdempotencyMismatch):
        await store.issue("sued", "B", "terminal-sued", Idempotency(key, "fp-B"))
    assert await dataset(redis) == before


async def test_idempotency_answers_are_kept_for_a_day(store: Store, redis: Redis) -> None:
    """The stored answer expires after 24 h, not before."""
    key = keys.idempotency("sued", "terminal-sued", "k1")
    await store.issue("sued", "A", "terminal-sued", Idempotency(key, "fp"))
    ttl = await redis.ttl(key)
    assert 24 * 3600 - 60 < ttl <= 24 * 3600


@pytest.mark.parametrize(
    "case",
    [
        "ticket_stop",
        "counter_closed",
        "counter_busy",
        "invalid_transition",
        "other_counter",
        "same_queue",
    ],
)
async def test_refused_commands_change_nothing(store: Store, redis: Redis, case: str) -> None:
    """Every refusal leaves Redis exactly as it was (no half-written state)."""
    for _ in range(3):
        await store.issue("sued", "B", "t")  # B has max_waiting = 3
    t = (await store.issue("sued", "A", "t")).ticket
    assert t
    await store.set_counter("sued", "1", True)
    called = (await store.call_next("sued", "1")).ticket
    assert called
    before = await dataset(redis)
    expected: type[Exception]
    if case == "ticket_stop":
        expected, attempt = TicketStop, store.issue("sued", "B", "t")
    elif case == "counter_closed":
        expected, attempt = CounterState, store.call_next("sued", "2")
    elif case == "counter_busy":
        expected, attempt = CounterState, store.call_next("sued", "1")
    elif case == "invalid_transition":
        expected, attempt = InvalidTransition, store.act(called.id, Action.COMPLETE, counters=["1"])
    elif case == "other_counter":
        expected, attempt = Forbidden, store.act(called.id, Action.START, counters=["2"])
    else:
        waiting = (await store.issue("sued", "A", "t")).ticket
        assert waiting
        before = await dataset(redis)
        expected, attempt = (
            Conflict,
            store.act(waiting.id, Action.TRANSFER, counters=None, queue="A"),
        )
    with pytest.raises(expected):
        await attempt
    assert await dataset(redis) == before


async def test_unknown_ticket(store: Store) -> None:
    """Acting on or reading a ticket that does not exist is a 404."""
    with pytest.raises(NotFound):
        await store.act("t_sued_AAAAAAAAAAAAAAAAAAAAAA", Action.CANCEL, counters=None)
    with pytest.raises(NotFound):
        await store.ticket("t_sued_AAAAAAAAAAAAAAAAAAAAAA")
    with pytest.raises(NotFound):
        await store.ticket("not-a-ticket")


async def test_transfer_keeps_the_number_and_joins_the_end(store: Store) -> None:
    """A transferred ticket keeps A001 and waits behind those already in queue B."""
    a1 = (await store.issue("sued", "A", "t")).ticket
    b1 = (await store.issue("sued", "B", "t")).ticket
    assert a1 and b1
    await store.set_counter("sued", "1", True)
    await store.call_next("sued", "1")
    await store.act(a1.id, Action.START, counters=["1"])
    moved = await store.act(a1.id, Action.TRANSFER, counters=["1"], queue="B")
    assert moved.ticket and moved.ticket.number == "A001" and moved.ticket.queue == "B"
    assert moved.ticket.status is TicketStatus.WAITING and moved.position == 2
    state = await store.location_state("sued")
    assert state.counters["1"].ticket is None  # the counter is free again
    assert state.queues["B"].waiting == 2


async def test_recall_moves_the_call_to_the_top_with_a_count(store: Store) -> None:
    """A recall updates the same call (same id), counts it and puts it first again."""
    a1 = (await store.issue("sued", "A", "t")).ticket
    b1 = (await store.issue("sued", "B", "t")).ticket
    assert a1 and b1
    await store.set_counter("sued", "1", True)
    await store.set_counter("sued", "2", True)
    await store.call_next("sued", "1")
    await store.call_next("sued", "2")
    calls = (await store.location_state("sued")).calls
    assert [c.number for c in calls] == ["B001", "A001"]
    await store.act(a1.id, Action.RECALL, counters=["1"])
    calls_after = (await store.location_state("sued")).calls
    assert [c.number for c in calls_after] == ["A001", "B001"]
    assert calls_after[0].id == calls[1].id and calls_after[0].recall == 1


async def test_counter_with_a_ticket_cannot_close(store: Store) -> None:
    """Closing while someone is called would leave them standing: refused."""
    await store.issue("sued", "A", "t")
    await store.set_counter("sued", "1", True)
    called = (await store.call_next("sued", "1")).ticket
    assert called
    with pytest.raises(CounterState, match="A001"):
        await store.set_counter("sued", "1", False)
    await store.act(called.id, Action.NO_SHOW, counters=["1"])
    await store.set_counter("sued", "1", False)
    assert not (await store.location_state("sued")).counters["1"].open


async def test_every_change_bumps_seq_logs_an_event_and_rings(store: Store, redis: Redis) -> None:
    """One command: seq + 1, events in the stream, one doorbell with epoch and seq."""
    start = await store.roll_day("sued")
    pubsub = redis.pubsub()
    await pubsub.subscribe(keys.channel("sued"))
    await pubsub.get_message(timeout=TIMEOUT)  # the subscribe confirmation
    issued = await store.issue("sued", "A", "t")
    assert issued.location and issued.location.seq == start.seq + 1
    bell = None
    for _ in range(50):
        msg = await pubsub.get_message(timeout=TIMEOUT)
        if msg and msg["type"] == "message":
            bell = orjson.loads(msg["data"])
            break
    await pubsub.aclose()
    assert bell and bell["seq"] == start.seq + 1 and bell["epoch"] == start.epoch
    entries = await redis.xrange(keys.events("sued"))
    assert entries[-1][1][b"type"] == b"issued" and entries[-1][1][b"number"] == b"A001"


async def test_roll_day_on_the_same_day_changes_nothing(store: Store, redis: Redis) -> None:
    """The periodic day check is a no-op while the day lasts."""
    await store.roll_day("sued")
    await store.issue("sued", "A", "t")
    before = await dataset(redis)
    await store.roll_day("sued")
    assert await dataset(redis) == before


async def test_day_change_closes_the_day_and_restarts_numbering(
    store: Store, redis: Redis, clock: SettableClock
) -> None:
    """After local midnight: leftovers cancelled, counters closed, calls gone, A001 again."""
    left = (await store.issue("sued", "A", "t")).ticket
    await store.issue("sued", "A", "t")
    await store.set_counter("sued", "1", True)
    at_counter = (await store.call_next("sued", "1")).ticket
    assert left and at_counter
    clock.now = datetime(2026, 11, 25, 23, 0, tzinfo=UTC)  # 00:00 on the 26th in Berlin
    fresh = (await store.issue("sued", "A", "t")).ticket
    assert fresh and fresh.number == "A001"
    state = await store.location_state("sued")
    assert state.day == "2026-11-26"
    assert state.queues["A"].waiting == 1 and state.calls == ()
    assert not state.counters["1"].open
    for old in (left, at_counter):
        record, _, _ = await store.ticket(old.id)
        assert record.status is TicketStatus.CANCELLED
        assert 0 < await redis.ttl(keys.ticket("sued", old.id)) <= 2 * 24 * 3600
    types = [e[1][b"type"] for e in await redis.xrange(keys.events("sued"))]
    assert b"day_end" in types


async def test_day_change_a_minute_before_midnight_does_not_happen(
    store: Store, clock: SettableClock
) -> None:
    """23:59 local is still the same day."""
    await store.issue("sued", "A", "t")
    clock.now = datetime(2026, 11, 25, 22, 59, tzinfo=UTC)  # 23:59 in Berlin
    assert (await store.issue("sued", "A", "t")).ticket.number == "A002"  # type: ignore[union-attr]


async def test_closed_tickets_expire_open_ones_do_not(store: Store, redis: Redis) -> None:
    """Done tickets stay readable two days; waiting ones have no expiry."""
    t = (await store.issue("sued", "A", "t")).ticket
    w = (await store.issue("sued", "A", "t")).ticket
    assert t and w
    await store.set_counter("sued", "1", True)
    await store.call_next("sued", "1")
    await store.act(t.id, Action.START, counters=["1"])
    await store.act(t.id, Action.COMPLETE, counters=["1"])
    assert 0 < await redis.ttl(keys.ticket("sued", t.id)) <= 2 * 24 * 3600
    assert await redis.ttl(keys.ticket("sued", w.id)) == -1


async def test_concurrent_issues_never_share_a_number(store: Store) -> None:
    """200 issues at once: 200 distinct, gapless numbers."""
    outcomes = await asyncio.gather(*(store.issue("sued", "A", "t") for _ in range(200)))
    numbers = sorted(o.ticket.number for o in outcomes if o.ticket)
    assert numbers == [f"A{n:03d}" for n in range(1, 201)]


async def test_times_are_the_clock_s(store: Store, clock: SettableClock) -> None:
    """issued_at comes from the service's clock (one clock, injectable)."""
    t = (await store.issue("sued", "A", "t")).ticket
    assert t and t.issued_at == int(clock.now.timestamp() * 1000)
    clock.now += timedelta(minutes=5)
    await store.set_counter("sued", "1", True)
    called = (await store.call_next("sued", "1")).ticket
    assert called and called.called_at == t.issued_at + 5 * 60 * 1000


async def test_a_clock_behind_at_midnight_never_rolls_the_day_back(
    redis: Redis, office: Office
) -> None:
    """Two processes 1 s apart around midnight: the day only moves forward, no number twice."""
    ahead = Store(redis, office, SettableClock(datetime(2026, 11, 25, 23, 0, 0, tzinfo=UTC)))
    behind = Store(redis, office, SettableClock(datetime(2026, 11, 25, 22, 59, 59, tzinfo=UTC)))
    await behind.issue("sued", "A", "t")  # 25 Nov, A001
    first = (await ahead.issue("sued", "A", "t")).ticket  # 26 Nov, A001
    late = (await behind.issue("sued", "A", "t")).ticket  # clock still on 25 Nov
    again = (await ahead.issue("sued", "A", "t")).ticket
    assert first and late and again
    assert [first.number, late.number, again.number] == ["A001", "A002", "A003"]
    assert (await ahead.ticket(first.id))[0].status is TicketStatus.WAITING
    assert (await ahead.location_state("sued")).day == "2026-11-26"


async def test_nobody_waiting_is_also_the_answer_on_retry(store: Store) -> None:
    """call-next answered 204; a retry with the same key answers 204 again, calls nobody."""
    await store.set_counter("sued", "1", True)
    idem = Idempotency(keys.idempotency("sued", "counter-sued-1", "k"), "fp")
    assert (await store.call_next("sued", "1", idem)).kind is OutcomeKind.NOTHING
    await store.issue("sued", "A", "t")
    retry = await store.call_next("sued", "1", idem)
    assert retry.kind is OutcomeKind.NOTHING and retry.replayed
    assert (await store.location_state("sued")).queues["A"].waiting == 1


async def test_answers_stored_before_kinds_replay_with_their_kind(
    store: Store, redis: Redis
) -> None:
    """An answer stored under an Idempotency-Key when answers said an HTTP status (up to a
    day before an upgrade) replays as the same outcome, and changes nothing."""
    first = await store.issue(
        "sued", "A", "t", Idempotency(keys.idempotency("sued", "t", "k"), "fp")
    )
    assert first.kind is OutcomeKind.CREATED and first.ticket
    key = keys.idempotency("sued", "t", "k")
    record = orjson.loads(await redis.get(key))
    del record["response"]["kind"]
    for status, kind in (
        (201, OutcomeKind.CREATED),
        (200, OutcomeKind.DONE),
        (204, OutcomeKind.NOTHING),
    ):
        record["response"]["status"] = status
        await redis.set(key, orjson.dumps(record))
        retry = await store.issue("sued", "A", "t", Idempotency(key, "fp"))
        assert retry.kind is kind and retry.replayed
        assert retry.ticket and retry.ticket.id == first.ticket.id
    assert (await store.location_state("sued")).queues["A"].waiting == 1


async def test_retry_after_closing_time_gets_its_ticket(store: Store) -> None:
    """Issued at 12:29:59, retried at 12:30:01 with the same key: the same ticket, no 409."""
    idem = Idempotency(keys.idempotency("sued", "terminal-sued", "k"), "fp")
    first = await store.issue("sued", "A", "terminal-sued", idem)
    retry = await store.issue("sued", "A", "terminal-sued", idem, closed=True)
    assert retry.replayed and retry.ticket == first.ticket
    with pytest.raises(QueueClosed):
        await store.issue("sued", "A", "terminal-sued", closed=True)


async def test_tickets_of_a_removed_queue_stay_readable_and_end_with_the_day(
    redis: Redis, office: Office, clock: SettableClock
) -> None:
    """A queue dropped from the configuration: its tickets read fine and close at midnight."""
    before = Store(redis, office, clock)
    ticket = (await before.issue("sued", "B", "t")).ticket
    await before.set_counter("sued", "2", True)
    assert ticket
    raw = office.model_dump()
    sued = raw["locations"][0]
    sued["queues"] = [q for q in sued["queues"] if q["id"] != "B"]
    sued["counters"] = [c for c in sued["counters"] if c["id"] == "1"]
    raw["devices"] = [d for d in raw["devices"] if d["id"] != "counter-sued-2"]
    after = Store(redis, parse_office(raw, "changed.toml"), clock)
    record, position, state = await after.ticket(ticket.id)
    assert record.queue == "B" and position == 1
    view = snapshot.ticket(
        after.office, after.office.location_by_id["sued"], record, position, state, clock.now
    )
    assert view["estimated_wait_s"] is None
    clock.now += timedelta(days=1)
    await after.roll_day("sued")
    assert (await after.ticket(ticket.id))[0].status is TicketStatus.CANCELLED
    assert await redis.hget(keys.counter("sued", "2"), "open") == b"0"
