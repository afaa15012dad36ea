"""One location's tickets and counters in memory: the executable specification of the scripts.

The Lua scripts in ``scripts/`` are the implementation (atomic, in Redis); this module says
what they promise, in plain Python on top of :mod:`waitboard.core.domain`, and
``tests/test_model.py`` sends the same random commands to both and compares every answer
and every state. Like the core it has no I/O and no clock: each command is given the moment
it runs at, and the ids the caller chose (ticket ids and call ids are random in the store).

Guarantees every command keeps (as in ``lib.lua``):

* The first command of a new local day (local midnight in the office's time zone) first
  closes what the previous day left open (cancelled, reason ``day_end``), closes the
  counters, clears the calls and restarts the numbering. The day never moves backwards: a
  command whose clock is behind runs in the newer day. The day change stands even when the
  command itself is then refused.
* A refused command changes nothing else and raises the :mod:`waitboard.core.errors` class the
  store raises for it.
* ``seq`` grows by exactly one per command that changed anything (the day included).

Not modelled: Idempotency-Key replays, learning and statistics, occupancy, queues or
counters missing from the configuration.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime, tzinfo

from waitboard.core.clock import to_ms
from waitboard.core.domain import (
    Action,
    Layout,
    TicketStatus,
    next_status,
    pick_queue,
    service_day,
    ticket_number,
)
from waitboard.core.errors import (
    CounterBusy,
    NoSuchTicket,
    OtherCounter,
    QueueClosed,
    SameQueue,
    TicketStop,
)
from waitboard.core.outcomes import OutcomeKind
from waitboard.core.pauses import (
    CounterCommand,
    CounterMode,
    CounterNowState,
    PauseReason,
    apply,
    refuse_call,
)
from waitboard.store.scripts import CALLS_KEEP

#: What :meth:`LocationModel.act` does; calling is call_next's, closing the day the clock's.
TICKET_ACTIONS = frozenset(
    {Action.RECALL, Action.START, Action.COMPLETE, Action.NO_SHOW, Action.CANCEL, Action.TRANSFER}
)
_AT_COUNTER = frozenset({TicketStatus.CALLED, TicketStatus.SERVING})


@dataclass(frozen=True, slots=True)
class Call:
    """A number on the lobby screens. A recall keeps the id and moves the call to the top."""

    id: str
    ticket_id: str
    number: str
    queue: str
    counter: str
    called_at: int  # ms since the epoch, of the latest call or recall
    recall: int = 0


@dataclass(frozen=True, slots=True)
class Ticket:
    """A ticket as the scripts keep it; times are ms since the epoch.

    A transfer keeps ``called_at``, ``started_at`` and ``recall`` of the earlier service
    (only a new call overwrites them); a closed ticket keeps the counter it was at.
    """

    id: str
    number: str
    queue: str
    status: TicketStatus
    issued_at: int
    queued_at: int  # when it joined its current queue
    called_at: int | None = None
    started_at: int | None = None
    closed_at: int | None = None
    counter: str | None = None
    recall: int = 0
    transfers: int = 0
    call: Call | None = None
    reason: str | None = None  # why it closed: complete, no_show, cancel or day_end


@dataclass(frozen=True, slots=True)
class Counter:
    open: bool = False  # serving: a paused counter is not open
    ticket: str | None = None  # the ticket called or being served here, if any
    paused: PauseReason | None = None

    @property
    def now(self) -> CounterNowState:
        """As core/pauses.py's rule sees it."""
        mode = (
            CounterMode.PAUSED
            if self.paused
            else (CounterMode.OPEN if self.open else CounterMode.CLOSED)
        )
        return CounterNowState(mode, self.paused, self.ticket is not None)


@dataclass(frozen=True, slots=True)
class Answer:
    """A command that went through: created (issued), done, or nothing (nobody waits)."""

    kind: OutcomeKind
    ticket: Ticket | None = None
    position: int | None = None


class LocationModel:
    """The live state of one location and the commands that change it."""

    def __init__(
        self, layout: Layout, tz: tzinfo, max_waiting: Mapping[str, int | None] | None = None
    ) -> None:
        self.layout = layout
        self.tz = tz
        self.max_waiting = dict(max_waiting or {})
        self.day: date | None = None  # the service day; None before the first command
        self.seq = 0
        self.tickets: dict[str, Ticket] = {}
        self.queues: dict[str, list[str]] = {q: [] for q in layout.queues}  # ids, call order
        self.counters: dict[str, Counter] = {}  # the counters ever opened
        self.calls: list[Call] = []  # newest first
        self._numbers: dict[str, int] = {}
        self._now = 0
        self._changed = False

    # --- reads ------------------------------------------------------------------------------

    def counter(self, counter: str) -> Counter:
        return self.counters.get(counter, Counter())

    def position(self, ticket_id: str) -> int | None:
        """1 for the next to be called in its queue; None unless the ticket waits."""
        t = self.tickets[ticket_id]
        if t.status is not TicketStatus.WAITING:
            return None
        return self.queues[t.queue].index(ticket_id) + 1

    def open_tickets(self) -> frozenset[str]:
        return frozenset(i for i, t in self.tickets.items() if t.status.is_open)

    # --- commands ---------------------------------------------------------------------------

    def issue(self, queue: str, ticket_id: str, now: datetime, *, closed: bool = False) -> Answer:
        """A new ticket at the end of ``queue``: numbers count 1, 2, 3 per queue and day.

        Refused when ``closed`` (a terminal out of hours) or when the queue's ``max_waiting``
        people already wait - counted at the same moment the number is drawn.
        """
        with self._command(now):
            if closed:
                raise QueueClosed(f"Queue {queue} is closed now.", queue=queue)
            limit, waiting = self.max_waiting.get(queue), len(self.queues[queue])
            if limit is not None and waiting >= limit:
                raise TicketStop(
                    f"Queue {queue} has reached its ticket stop ({waiting} "
                    f"waiting, limit {limit}).",
                    queue=queue,
                )
            n = self._numbers[queue] = self._numbers.get(queue, 0) + 1
            t = self._put(
                Ticket(
                    id=ticket_id,
                    number=ticket_number(queue, n),
                    queue=queue,
                    status=TicketStatus.WAITING,
                    issued_at=self._now,
                    queued_at=self._now,
                )
            )
            self.queues[queue].append(t.id)
            return Answer(OutcomeKind.CREATED, t, self.position(t.id))

    def call_next(self, counter: str, call_id: str, now: datetime) -> Answer:
        """The counter calls the head of its first preferred queue with someone waiting.

        The counter must be open and free; the ticket leaves its queue in the same step, so
        it is called once (a transfer puts it back in line). 204 when nobody waits.
        """
        with self._command(now):
            c = self.counter(counter)
            refuse_call(counter, c.now)
            if c.ticket is not None:  # always called or serving: it is freed when it leaves
                t = self.tickets[c.ticket]
                raise CounterBusy(
                    f"Counter {counter} still has ticket {t.number}.",
                    counter=counter,
                    ticket=t.number,
                )
            waiting = {q: len(ids) for q, ids in self.queues.items()}
            queue = pick_queue(self.layout.counters[counter], waiting)
            if queue is None:
                return Answer(OutcomeKind.NOTHING)
            t = self.tickets[self.queues[queue].pop(0)]
            call = Call(
                id=call_id,
                ticket_id=t.id,
                number=t.number,
                queue=t.queue,
                counter=counter,
                called_at=self._now,
            )
            t = self._put(
                replace(
                    t,
                    status=next_status(t.number, t.status, Action.CALL),
                    counter=counter,
                    called_at=self._now,
                    recall=0,
                    call=call,
                )
            )
            self.counters[counter] = replace(c, ticket=t.id)
            self._show(call)
            return Answer(OutcomeKind.DONE, t)

    def act(
        self,
        ticket_id: str,
        action: Action,
        now: datetime,
        *,
        counters: Collection[str] | None,
        queue: str | None = None,
    ) -> Answer:
        """recall, start, complete, no_show, cancel, or transfer to the end of ``queue``.

        ``counters``: those the device operates (None: any, as reception). A ticket called
        or served at a counter may only be touched by a device of that counter; this is
        checked before the transition. A waiting ticket cannot be transferred to its own
        queue. Transfers ignore the ticket stop: a person sent on by staff is never turned
        away.
        """
        if action not in TICKET_ACTIONS:
            raise ValueError(f"{action} is not an action on a single ticket")
        if action is Action.TRANSFER and queue not in self.queues:
            raise ValueError(f"a transfer needs a queue of this location, not {queue!r}")
        with self._command(now):
            t = self.tickets.get(ticket_id)
            if t is None:
                raise NoSuchTicket(ticket_id)
            if counters is not None and t.status in _AT_COUNTER and t.counter not in counters:
                raise OtherCounter(f"Ticket {t.number} is at counter {t.counter}.", ticket=t.number)
            status = next_status(t.number, t.status, action)
            if action is Action.TRANSFER and t.status is TicketStatus.WAITING and queue == t.queue:
                raise SameQueue(
                    f"Ticket {t.number} already waits in queue {queue}.",
                    ticket=t.number,
                    queue=queue,
                )
            if action is Action.RECALL:
                assert t.call is not None  # a called ticket has its call
                call = replace(t.call, called_at=self._now, recall=t.recall + 1)
                t = self._put(replace(t, recall=call.recall, call=call))
                self._show(call)
            elif action is Action.START:
                t = self._put(replace(t, status=status, started_at=self._now))
            elif action is Action.TRANSFER:
                assert queue is not None
                self._leave(t)
                t = self._put(
                    replace(
                        t,
                        status=status,
                        queue=queue,
                        counter=None,
                        queued_at=self._now,
                        transfers=t.transfers + 1,
                    )
                )
                self.queues[queue].append(t.id)
            else:
                self._leave(t)
                t = self._put(replace(t, status=status, closed_at=self._now, reason=action.value))
            return Answer(OutcomeKind.DONE, t, self.position(t.id))

    def set_counter(self, counter: str, open_: bool, now: datetime) -> Answer:
        """Open or close a counter. It cannot close while someone is called or served
        there; opening an open counter (closing a closed one) changes nothing; opening a
        paused one resumes it, closing it ends the pause."""
        command = CounterCommand.OPEN if open_ else CounterCommand.CLOSE
        return self.counter_command(counter, command, None, now)

    def counter_command(
        self, counter: str, command: CounterCommand, reason: PauseReason | None, now: datetime
    ) -> Answer:
        """Open, close, pause or resume a counter by the core's rule (core/pauses.apply):
        what changes the counter's mode or reason is a change, the rest changes nothing."""
        with self._command(now):
            c = self.counter(counter)
            after = apply(counter, c.now, command, reason)
            if after.mode is not c.now.mode or after.reason is not c.paused:
                self.counters[counter] = replace(
                    c, open=after.mode is CounterMode.OPEN, paused=after.reason
                )
                self._changed = True
            return Answer(OutcomeKind.DONE)

    def roll_day(self, now: datetime) -> None:
        """The periodic check: start the new day if local midnight has passed, else nothing."""
        with self._command(now):
            pass

    # --- plumbing ---------------------------------------------------------------------------

    @contextmanager
    def _command(self, now: datetime) -> Iterator[None]:
        """Start the day, run the command; seq moves once if anything changed, also when
        the command is refused after the day change (the scripts commit it first)."""
        self._now = to_ms(now)
        self._changed = self._start_day(service_day(now, self.tz))
        try:
            yield
        finally:
            if self._changed:
                self.seq += 1

    def _start_day(self, today: date) -> bool:
        if self.day is not None and today <= self.day:
            return False  # same day, or a clock behind: never back into yesterday
        if self.day is not None:
            for t in list(self.tickets.values()):
                if t.status.is_open:
                    self._leave(t)
                    self._put(
                        replace(
                            t,
                            status=next_status(t.number, t.status, Action.DAY_END),
                            closed_at=self._now,
                            reason=Action.DAY_END.value,
                        )
                    )
            self.counters = {c: Counter() for c in self.counters}
            self.calls = []
            self._numbers = {}
        self.day = today
        return True

    def _put(self, t: Ticket) -> Ticket:
        self.tickets[t.id] = t
        self._changed = True
        return t

    def _leave(self, t: Ticket) -> None:
        """The ticket leaves its queue (if waiting) or its counter (if at one)."""
        if t.status is TicketStatus.WAITING:
            self.queues[t.queue].remove(t.id)
        if t.counter is not None and self.counter(t.counter).ticket == t.id:
            self.counters[t.counter] = replace(self.counters[t.counter], ticket=None)

    def _show(self, call: Call) -> None:
        rest = [c for c in self.calls if c.id != call.id]
        self.calls = [call, *rest][:CALLS_KEEP]
