"""Model check: the Lua scripts in the real Redis against the specification in tests.model.

A Hypothesis state machine sends the same random commands (issue, call, recall, start,
complete, no-show, cancel, transfer, open/close, day change) to the store and to the pure
model, with a clock that wanders and jumps across local midnight - the two DST days of 2026
included. After every step it compares the answers (the same success or the same error
class) and the whole state of the location, and checks invariants against the store's own
answers: consecutive numbers per queue and day, the waiting balance per queue, no ticket
called twice, and the service day as an independent calendar computes it.
"""

from __future__ import annotations

import asyncio
import tomllib
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar, TypeVar

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)
from redis.asyncio import Redis

from tests.helpers import APPOINTMENT_PLAN, OFFICE_PATH, SettableClock
from tests.model import TICKET_ACTIONS, Answer, LocationModel, Ticket
from waitboard.core.clock import to_ms
from waitboard.core.domain import TRANSITIONS, Action, TicketStatus, pick_queue, ticket_number
from waitboard.core.errors import InvalidTransition, WaitboardError
from waitboard.core.office import Location, Office, parse_office
from waitboard.core.outcomes import OutcomeKind
from waitboard.core.pauses import CounterCommand, PauseReason
from waitboard.core.state import Call, LocationState, QueueState, TicketRecord
from waitboard.store import keys
from waitboard.store.embedded import EmbeddedRedis
from waitboard.store.office_store import Store
from waitboard.store.outcomes import Outcome
from waitboard.store.redis import connect

T = TypeVar("T")

LOCATION = "sued"
#: The counters a device operates: None for reception, then counter devices, right or wrong.
DEVICES: tuple[tuple[str, ...] | None, ...] = (None, ("1",), ("2",), ("1", "2"), ())
ACTIONS = sorted(TICKET_ACTIONS)
#: Where a run starts (UTC): an ordinary day, and close to each midnight around the two DST
#: changes of 2026 and to the changes themselves (the service day must not move there).
STARTS = (
    datetime(2026, 11, 25, 9, 0, tzinfo=UTC),  # 10:00 on an ordinary Wednesday
    datetime(2026, 3, 28, 22, 40, tzinfo=UTC),  # 23:40 CET; the 23-hour Sunday follows
    datetime(2026, 3, 29, 0, 30, tzinfo=UTC),  # 01:30 CET; at 02:00 the clocks jump to 03:00
    datetime(2026, 3, 29, 21, 30, tzinfo=UTC),  # 23:30 CEST, the end of the 23-hour day
    datetime(2026, 10, 24, 21, 40, tzinfo=UTC),  # 23:40 CEST; the 25-hour Sunday follows
    datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # 02:30 CEST; an hour later 02:30 CET
    datetime(2026, 10, 25, 22, 30, tzinfo=UTC),  # 23:30 CET, the end of the 25-hour day
)
NOT_ISSUED = "t_sued_" + "x" * 22  # a well-formed id of this location that was never issued

#: How far the clock moves between two commands (an explicit list: Hypothesis' integers
#: crowd around zero). Negative: a caller whose clock is a little behind.
TIME_STEPS_S = (-90, -0.001, 0.001, 1, 30, 60, 180, 300, 420, 600, 900, 1200)
#: Commands between two midnights at least: a ticket needs a few to be served to the end.
COMMANDS_PER_DAY = 6
RARELY = st.integers(0, 7).map(lambda n: n == 7)  # shrinks to False

SETTINGS = settings(
    max_examples=60,
    stateful_step_count=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


# --- Berlin's calendar, independent of zoneinfo ---------------------------------------------


def _last_sunday_1am_utc(year: int, month: int) -> datetime:
    last = date(year, month, 31)
    return datetime(year, month, 31 - (last.weekday() + 1) % 7, 1, tzinfo=UTC)


def berlin_offset(moment: datetime) -> timedelta:
    """EU rule: CEST (+2) from the last Sunday of March to that of October, 01:00 UTC."""
    y = moment.year
    summer = _last_sunday_1am_utc(y, 3) <= moment < _last_sunday_1am_utc(y, 10)
    return timedelta(hours=2 if summer else 1)


def berlin_day(moment: datetime) -> date:
    return (moment + berlin_offset(moment)).date()


def berlin_midnight(day: date) -> datetime:
    """The UTC moment at which ``day`` begins in Berlin."""
    for hours in (2, 1):
        moment = datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(hours=hours)
        if berlin_offset(moment) == timedelta(hours=hours):
            return moment
    raise AssertionError(day)


# --- comparing the two sides ----------------------------------------------------------------


def record(t: Ticket) -> TicketRecord:
    """The model's ticket as the store reports it."""
    return TicketRecord(
        id=t.id,
        number=t.number,
        queue=t.queue,
        status=t.status,
        issued_at=t.issued_at,
        queued_at=t.queued_at,
        called_at=t.called_at,
        started_at=t.started_at,
        closed_at=t.closed_at,
        counter=t.counter,
        recall=t.recall,
        transfers=t.transfers,
    )


def brief(t: TicketRecord | Ticket | None) -> tuple[Any, ...] | None:
    """What a location's state shows of the ticket at a counter."""
    if t is None:
        return None
    return (t.id, t.number, t.queue, t.status, t.called_at, t.started_at)


@dataclass
class Ledger:
    """What the store's answers add up to since its last day change."""

    day: str | None = None
    issued: Counter[str] = field(default_factory=Counter)  # per queue
    called: Counter[str] = field(default_factory=Counter)
    cancelled: Counter[str] = field(default_factory=Counter)  # while waiting
    moved_out: Counter[str] = field(default_factory=Counter)  # while waiting
    moved_in: Counter[str] = field(default_factory=Counter)
    calls: Counter[str] = field(default_factory=Counter)  # per ticket
    back_in_line: Counter[str] = field(default_factory=Counter)  # transfers after a call

    def waiting(self, queue: str) -> int:
        return (
            self.issued[queue]
            - self.called[queue]
            - self.cancelled[queue]
            - self.moved_out[queue]
            + self.moved_in[queue]
        )


class ScriptsAgainstModel(RuleBasedStateMachine):
    """One location: the store on the real Redis and the model, side by side."""

    redis_url: ClassVar[str]
    office: ClassVar[Office]
    tickets = Bundle("tickets")

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.redis: Redis = connect(self.redis_url)
        self.run(self.redis.flushall())
        self.loc: Location = self.office.location_by_id[LOCATION]
        self.clock = SettableClock(STARTS[0])
        self.store = Store(self.redis, self.office, self.clock)
        self.model = LocationModel(
            self.loc.layout, self.office.tz, {q.id: q.max_waiting for q in self.loc.queues}
        )
        self.known: list[str] = []  # every ticket issued, in order
        self.seen: dict[str, TicketRecord] = {}  # the store's tickets after the last step
        self.ledger = Ledger()
        self.latest_day: date | None = None  # the newest day a command ran in (Berlin)
        self.epoch = ""
        self.commands_today = 0
        self.placeholders = 0

    def teardown(self) -> None:
        self.run(self.redis.aclose())
        self.loop.close()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    # --- the clock --------------------------------------------------------------------------

    @initialize(start=st.sampled_from(STARTS), opened=st.sets(st.sampled_from(["1", "2"])))
    def start_at(self, start: datetime, opened: set[str]) -> None:
        """The server starts (and rolls the day, as the hub does); some counters open."""
        self.clock.now = start
        self.day_check()
        for counter in sorted(opened):
            self.open_or_close(counter, True)

    @rule(seconds=st.sampled_from(TIME_STEPS_S))
    def time_passes(self, seconds: float) -> None:
        """Mostly forwards; a little backwards is a caller whose clock is behind."""
        self.clock.now += timedelta(seconds=seconds)

    @precondition(lambda self: self.commands_today >= COMMANDS_PER_DAY)
    @rule(
        offset_ms=st.sampled_from([0, -1, 1]) | st.integers(-60_000, 60_000),
        skipped_days=st.integers(0, 2),
    )
    def around_a_midnight(self, offset_ms: int, skipped_days: int) -> None:
        """To (just before, at, just after) the next local midnight, or one a few days on."""
        day = berlin_day(self.clock.now) + timedelta(days=1 + skipped_days)
        self.clock.now = berlin_midnight(day) + timedelta(milliseconds=offset_ms)
        self.commands_today = 0

    # --- commands ---------------------------------------------------------------------------

    def both(
        self,
        what: str,
        store_side: Coroutine[Any, Any, Outcome],
        model_side: Callable[[Outcome | None, datetime], Answer],
    ) -> Outcome | None:
        """Run the command on both, at the same moment; the model gets the ids the store
        chose. Both succeed with the same answer, or both refuse with the same error."""
        now = self.clock.now
        self._ran_at(now)
        self.commands_today += 1
        got: Outcome | None = None
        got_error: WaitboardError | None = None
        try:
            got = self.run(store_side)
        except WaitboardError as e:
            got_error = e
        want: Answer | None = None
        want_error: WaitboardError | None = None
        try:
            want = model_side(got, now)
        except WaitboardError as e:
            want_error = e
        assert type(got_error) is type(want_error), f"store: {got_error!r}, model: {want_error!r}"
        if got_error is not None:
            if isinstance(got_error, InvalidTransition):  # names ticket, state and action
                assert want_error is not None and got_error.detail == want_error.detail
            return None
        assert got is not None and want is not None
        assert got.kind is want.kind
        assert got.ticket == (record(want.ticket) if want.ticket else None)
        assert got.position == want.position
        assert got.location is not None
        self._new_day(got.location.day)
        return got

    def placeholder(self) -> str:
        """An id for the model when the store refused (the answers then differ anyway)."""
        self.placeholders += 1
        return f"t_sued_refused-by-the-store-{self.placeholders}"

    @rule(
        target=tickets, queue=st.sampled_from(["A", "B"]), n=st.integers(1, 3), out_of_hours=RARELY
    )
    def issue(self, queue: str, n: int, out_of_hours: bool) -> Any:
        """``n`` people take a ticket; ``out_of_hours``: from a terminal, refused."""
        issued = []
        for _ in range(n):
            got = self.both(
                "issue",
                self.store.issue(LOCATION, queue, "terminal-sued", closed=out_of_hours),
                lambda o, now: self.model.issue(
                    queue,
                    o.ticket.id if o and o.ticket else self.placeholder(),
                    now,
                    closed=out_of_hours,
                ),
            )
            if got is None or got.ticket is None:
                break
            t = got.ticket
            assert t.number == ticket_number(queue, self.ledger.issued[queue] + 1), (
                "numbers of a queue are consecutive per day"
            )
            self.ledger.issued[queue] += 1
            self.known.append(t.id)
            issued.append(t.id)
        return multiple(*issued)

    def call_next(self, counter: str) -> None:
        def model_side(o: Outcome | None, now: datetime) -> Answer:
            call_id = (
                o.location.calls[0].id if o and o.kind is OutcomeKind.DONE and o.location else "-"
            )
            return self.model.call_next(counter, call_id, now)

        got = self.both("call_next", self.store.call_next(LOCATION, counter), model_side)
        if got is not None and got.ticket is not None:
            t = got.ticket
            assert self.seen[t.id].status is TicketStatus.WAITING, "called a ticket not waiting"
            self.ledger.called[t.queue] += 1
            self.ledger.calls[t.id] += 1
            assert self.ledger.calls[t.id] <= self.ledger.back_in_line[t.id] + 1, (
                f"{t.number} called twice"
            )

    @rule(counter=st.sampled_from(["1", "2"]))
    def call(self, counter: str) -> None:
        self.call_next(counter)

    def act(
        self, ticket_id: str, action: Action, counters: tuple[str, ...] | None, queue: str
    ) -> None:
        target = queue if action is Action.TRANSFER else None
        before = self.seen.get(ticket_id)
        got = self.both(
            action.value,
            self.store.act(ticket_id, action, counters=counters, queue=target),
            lambda _, now: self.model.act(ticket_id, action, now, counters=counters, queue=target),
        )
        if got is None or before is None:
            return
        was_waiting = before.status is TicketStatus.WAITING
        if action is Action.CANCEL and was_waiting:
            self.ledger.cancelled[before.queue] += 1
        elif action is Action.TRANSFER:
            self.ledger.moved_in[queue] += 1
            if was_waiting:
                self.ledger.moved_out[before.queue] += 1
            else:
                self.ledger.back_in_line[ticket_id] += 1

    @rule(
        ticket=tickets,
        action=st.sampled_from(ACTIONS),
        device=st.sampled_from(DEVICES),
        queue=st.sampled_from(["A", "B"]),
        never_issued=RARELY,
    )
    def act_on_a_ticket(
        self,
        ticket: str,
        action: Action,
        device: tuple[str, ...] | None,
        queue: str,
        never_issued: bool,
    ) -> None:
        """Any device, any action, any ticket (or one that was never issued)."""
        self.act(NOT_ISSUED if never_issued else ticket, action, device, queue)

    @rule(
        counter=st.sampled_from(["1", "2"]),
        action=st.sampled_from(ACTIONS),
        queue=st.sampled_from(["A", "B"]),
    )
    def advisor_at_a_counter(self, counter: str, action: Action, queue: str) -> None:
        """The counter's own device as an advisor works: open and call the next; then recall,
        start, no-show or transfer; then complete or transfer. A step the ticket's state
        does not allow becomes the usual next one (the other rules try the wrong ones)."""
        state = self.model.counter(counter)
        if not state.open:
            self.open_or_close(counter, True)
        if state.ticket is None:
            self.call_next(counter)
            return
        status = self.model.tickets[state.ticket].status
        if (status, action) not in TRANSITIONS:
            action = Action.START if status is TicketStatus.CALLED else Action.COMPLETE
        self.act(state.ticket, action, (counter,), queue)

    @rule(counter=st.sampled_from(["1", "2"]), open_=st.booleans())
    def open_or_close(self, counter: str, open_: bool) -> None:
        self.both(
            "open" if open_ else "close",
            self.store.set_counter(LOCATION, counter, open_),
            lambda _, now: self.model.set_counter(counter, open_, now),
        )

    @rule(
        counter=st.sampled_from(["1", "2"]),
        command=st.sampled_from(list(CounterCommand)),
        reason=st.sampled_from(list(PauseReason)),
    )
    def counter_command(self, counter: str, command: CounterCommand, reason: PauseReason) -> None:
        """Open, close, pause (for a reason) or resume: the script and the core's rule agree."""
        why = reason if command is CounterCommand.PAUSE else None
        self.both(
            command.value,
            self.store.counter_command(LOCATION, counter, command, why),
            lambda _, now: self.model.counter_command(counter, command, why, now),
        )

    @rule()
    def day_check(self) -> None:
        """The hub's periodic roll_day."""
        self._ran_at(self.clock.now)
        state = self.run(self.store.roll_day(LOCATION))
        self.model.roll_day(self.clock.now)
        self._new_day(state.day)

    def _ran_at(self, now: datetime) -> None:
        day = berlin_day(now)
        self.latest_day = day if self.latest_day is None else max(self.latest_day, day)

    def _new_day(self, day: str | None) -> None:
        """The store moved to another day: everything open was closed, the ledger restarts."""
        if day != self.ledger.day:
            self.ledger = Ledger(day=day)

    # --- after every step -------------------------------------------------------------------

    async def read_store(
        self,
    ) -> tuple[
        LocationState,
        dict[str, list[str]],
        set[str],
        list[tuple[TicketRecord, int | None]],
        list[str | None],
    ]:
        """Everything the store says about the location, and each ticket ever issued."""
        state = await self.store.location_state(LOCATION)
        waiting = await self.store.waiting(LOCATION)
        open_ids = await self.redis.smembers(keys.open_tickets(LOCATION))
        tickets = await asyncio.gather(*(self.store.ticket(i) for i in self.known))
        async with self.redis.pipeline(transaction=False) as pipe:
            for i in self.known:  # why a ticket closed: not part of TicketRecord
                pipe.hget(keys.ticket(LOCATION, i), "reason")
            reasons = await pipe.execute()
        return (
            state,
            {q: [w.id for w in ws] for q, ws in waiting.items()},
            {i.decode() for i in open_ids},
            [(rec, pos) for rec, pos, _ in tickets],
            [r.decode() if r else None for r in reasons],
        )

    @invariant()
    def store_and_model_agree(self) -> None:
        """The whole state of the location is the same on both sides."""
        state, waiting, open_ids, tickets, reasons = self.run(self.read_store())
        m = self.model
        assert state.day == (m.day.isoformat() if m.day else None)
        assert state.seq == m.seq, "seq moves once per command that changed something"
        if m.day is not None:
            assert state.epoch and (self.epoch in ("", state.epoch))
            self.epoch = state.epoch
        assert waiting == {q: list(ids) for q, ids in m.queues.items()}, "queue order"
        assert state.queues == {
            q: QueueState(
                waiting=len(ids), head_queued_at=m.tickets[ids[0]].queued_at if ids else None
            )
            for q, ids in m.queues.items()
        }
        assert {c: (cs.open, cs.paused, brief(cs.ticket)) for c, cs in state.counters.items()} == {
            c: (
                m.counter(c).open,
                m.counter(c).paused,
                brief(m.tickets[t] if (t := m.counter(c).ticket) else None),
            )
            for c in self.loc.layout.counters
        }
        assert state.calls == tuple(
            Call(
                id=c.id,
                ticket_id=c.ticket_id,
                number=c.number,
                queue=c.queue,
                counter=c.counter,
                called_at=c.called_at,
                recall=c.recall,
            )
            for c in m.calls
        )
        for ticket_id, (rec, position), reason in zip(self.known, tickets, reasons, strict=True):
            want = m.tickets[ticket_id]
            assert rec == record(want)
            assert position == m.position(ticket_id)
            assert reason == want.reason
        self.seen = {rec.id: rec for rec, _ in tickets}
        assert open_ids == m.open_tickets()
        assert open_ids == {i for i, r in self.seen.items() if r.status.is_open}
        self.check_ledger(state)

    def check_ledger(self, state: LocationState) -> None:
        """The invariants, on the store's own figures."""
        self._new_day(state.day)  # a refused command may have changed the day
        expected_day = self.latest_day.isoformat() if self.latest_day else None
        assert state.day == expected_day, "the day is the local date, and never goes back"
        for q, qs in state.queues.items():
            assert qs.waiting == self.ledger.waiting(q), (
                f"waiting {q} = issued - called - cancelled - moved out + moved in"
            )
        # Everything open is today's (the day change closed the rest): no number twice.
        numbers = [r.number for r in self.seen.values() if r.status.is_open]
        assert len(numbers) == len(set(numbers)), "an open number twice"


def test_scripts_agree_with_the_model(redis_server: EmbeddedRedis, office: Office) -> None:
    """Random command sequences: the real Lua scripts and the model answer and end alike."""

    bound = type("Bound", (ScriptsAgainstModel,), {"redis_url": redis_server.url, "office": office})
    run_state_machine_as_test(bound, settings=SETTINGS)


@pytest.mark.parametrize(
    ("day", "midnight"),
    [
        (date(2026, 3, 29), datetime(2026, 3, 28, 23, 0, tzinfo=UTC)),  # 23-hour day begins
        (date(2026, 3, 30), datetime(2026, 3, 29, 22, 0, tzinfo=UTC)),  # first CEST midnight
        (date(2026, 10, 25), datetime(2026, 10, 24, 22, 0, tzinfo=UTC)),  # 25-hour day begins
        (date(2026, 10, 26), datetime(2026, 10, 25, 23, 0, tzinfo=UTC)),  # first CET midnight
    ],
)
async def test_the_day_changes_at_local_midnight_on_dst_days(
    redis: Redis, office: Office, day: date, midnight: datetime
) -> None:
    """A millisecond before local midnight numbering goes on; at midnight it restarts."""
    assert berlin_midnight(day) == midnight  # the calendar the state machine relies on
    clock = SettableClock(midnight - timedelta(hours=3))
    store = Store(redis, office, clock)
    loc = office.location_by_id[LOCATION]
    model = LocationModel(loc.layout, office.tz)
    got: list[str] = []
    for now in (
        midnight - timedelta(hours=3),
        midnight - timedelta(milliseconds=1),
        midnight,
        midnight + timedelta(hours=3),
    ):
        clock.now = now
        outcome = await store.issue(LOCATION, "A", "terminal-sued")
        assert outcome.ticket and outcome.location
        answer = model.issue("A", outcome.ticket.id, now)
        assert answer.ticket and outcome.ticket == record(answer.ticket)
        assert outcome.location.day == (model.day.isoformat() if model.day else None)
        got.append(f"{outcome.location.day} {outcome.ticket.number}")
    before = (day - timedelta(days=1)).isoformat()
    assert got == [f"{before} A001", f"{before} A002", f"{day} A001", f"{day} A002"]


# --- the queue-pick rule with appointment queues ----------------------------------------------

#: Monday 08:45 in Berlin. With check-in open until 30 minutes after the slot, bookings at
#: 08:20 and 08:40 are due (called from 2 minutes before their slot) and one at 09:00 is
#: checked in early.
PICK_NOW = datetime(2026, 11, 30, 7, 45, tzinfo=UTC)
PICK_SLOTS = tuple(
    datetime(2026, 11, 30, 7, 20, tzinfo=UTC) + timedelta(minutes=m) for m in (0, 20, 40)
)
PICK_PLAN = {**APPOINTMENT_PLAN, "late_minutes": 30}
BOOKED_QUEUES = ("S", "T")


def office_with_two_appointment_queues(preferences: list[str]) -> Office:
    """The test office with appointment queues S and T at Süd (the plan of
    office_with_appointments, with a longer check-in), counter 2 serving ``preferences``
    in that order; counter 1 stays closed."""
    raw = tomllib.loads(OFFICE_PATH.read_text(encoding="utf-8"))
    sued = next(loc for loc in raw["locations"] if loc["id"] == LOCATION)
    sued["queues"] += [
        {"id": q, "name": q, "service_minutes": 15, "appointments": PICK_PLAN}
        for q in BOOKED_QUEUES
    ]
    counters = {c["id"]: c for c in sued["counters"]}
    counters["1"]["queues"] = ["A", *BOOKED_QUEUES]  # (every appointment queue is served)
    counters["2"]["queues"] = preferences
    return parse_office(raw, source=str(OFFICE_PATH))


@settings(max_examples=40, deadline=None, derandomize=True, database=None)
# Two appointments due: the counter's preference decides, not the earlier slot.
@example(
    preferences=["S", "T"], walk_ins=(0, 0), bookings=[("T", PICK_SLOTS[0]), ("S", PICK_SLOTS[1])]
)
@given(
    preferences=st.permutations(["A", "B", *BOOKED_QUEUES]).flatmap(
        lambda p: st.integers(1, len(p)).map(lambda n: p[:n])
    ),
    walk_ins=st.tuples(st.integers(0, 3), st.integers(0, 2)),
    bookings=st.lists(
        st.tuples(st.sampled_from(BOOKED_QUEUES), st.sampled_from(PICK_SLOTS)), max_size=3
    ),
)
def test_call_next_lua_picks_queues_as_domain_pick_queue(
    redis_server: EmbeddedRedis,
    preferences: list[str],
    walk_ins: tuple[int, int],
    bookings: list[tuple[str, datetime]],
) -> None:
    """call_next.lua and the rule the estimate plays forward (domain.pick_queue) agree also
    with appointment queues: a due appointment first, whatever the counter's order, then
    walk-ins by preference, then someone early - called one after another until nobody
    waits for the counter."""
    office = office_with_two_appointment_queues(preferences)
    plan = office.location_by_id[LOCATION].queue_by_id["T"].appointments
    assert plan is not None
    ahead = timedelta(minutes=plan.call_ahead_minutes)

    async def calls() -> list[str]:
        redis = connect(redis_server.url)
        try:
            await redis.flushall()
            store = Store(redis, office, SettableClock(PICK_NOW))
            for i, (queue, slot) in enumerate(bookings):
                await store.book(
                    LOCATION, queue, to_ms(slot), "2026-11-30", f"code-{i}", to_ms(slot) + 10**9
                )
                await store.check_in(
                    LOCATION,
                    f"code-{i}",
                    "reception-sued",
                    early_ms=plan.early_minutes * 60_000,
                    late_ms=plan.late_minutes * 60_000,
                    walk_in=plan.walk_in_queue,
                )
            for queue, n in zip(("A", "B"), walk_ins, strict=True):
                for _ in range(n):
                    await store.issue(LOCATION, queue, "terminal-sued")
            await store.set_counter(LOCATION, "2", True)
            called = []
            while (outcome := await store.call_next(LOCATION, "2")).ticket is not None:
                called.append(outcome.ticket.queue)
                await store.act(outcome.ticket.id, Action.CANCEL, counters=None)
            return called
        finally:
            await redis.aclose()

    slots = {q: sorted(s for b, s in bookings if b == q) for q in BOOKED_QUEUES}
    left = {"A": walk_ins[0], "B": walk_ins[1], **{q: len(s) for q, s in slots.items()}}
    expected = []
    while True:
        due = {
            q: left[q] > 0 and slots[q][-left[q]] - ahead <= PICK_NOW
            for q in BOOKED_QUEUES
            if q in preferences
        }
        queue = pick_queue(preferences, left, due)
        if queue is None:
            break
        expected.append(queue)
        left[queue] -= 1
    assert asyncio.run(calls()) == expected
