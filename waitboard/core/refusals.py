"""What a script's refusal means: the error, with a sentence a person can act on.

The Lua scripts answer a refused command with a code and the facts behind it
(``{"error": "counter_busy", "counter": "2", "number": "A017"}``); this
module turns them into :mod:`waitboard.core.errors` - names of counters, times in the office's
time zone - so every front end says the same.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from waitboard.core.domain import Action, allowed_from
from waitboard.core.errors import (
    BookingArrived,
    BookingCancelled,
    BookingNotFound,
    BookingOtherDay,
    BookingPassed,
    BookingTooEarly,
    CounterBusy,
    CounterClosed,
    CounterPaused,
    ErrorKind,
    IdempotencyKeyInUse,
    IdempotencyMismatch,
    InvalidTransition,
    NoSuchTicket,
    OtherCounter,
    QueueClosed,
    SameQueue,
    SlotFull,
    TicketStop,
    WaitboardError,
)
from waitboard.core.hours import WEEKDAYS
from waitboard.core.office import Location, Office


class CodeTaken(WaitboardError):
    """A freshly drawn booking code exists already (about once in 10^12): draw again."""

    kind = ErrorKind.CONFLICT
    code = "code_taken"


def key_in_use() -> IdempotencyKeyInUse:
    """A public key that another client used first (the booking's answer is theirs)."""
    return IdempotencyKeyInUse(
        "This Idempotency-Key is in use by another client. Use a new key (a fresh UUID) "
        "for your booking; a retry is recognised under its key from the same client only."
    )


@dataclass(frozen=True, slots=True)
class _Refused:
    """A script's refusal with what its sentence needs: the location's names of its
    counters, the office's time zone."""

    office: Office
    loc: Location
    now: datetime
    out: Mapping[str, Any]

    def __getitem__(self, fact: str) -> Any:
        return self.out[fact]

    def counter_name(self) -> str:
        cid = str(self.out["counter"])
        c = self.loc.counter_by_id.get(cid)
        return c.name if c else cid

    def at(self, fact: str) -> datetime:
        """A moment of the refusal (ms) in the office's time zone."""
        return datetime.fromtimestamp(int(self.out[fact]) / 1000, self.office.tz)


def _key_reused(r: _Refused) -> WaitboardError:
    return IdempotencyMismatch(
        "This Idempotency-Key was already used for a different request. Use a new "
        "key for a new request, and the same key only to retry the same request."
    )


def _queue_closed(r: _Refused) -> WaitboardError:
    nxt = r.loc.opening_hours.next_opening(r.now.astimezone(r.office.tz))
    when = f"; it opens {WEEKDAYS[nxt.weekday()].capitalize()} {nxt:%H:%M}" if nxt else ""
    return QueueClosed(f"Location {r.loc.id} is closed now{when}.", queue=r["queue"])


def _ticket_stop(r: _Refused) -> WaitboardError:
    return TicketStop(
        f"Queue {r['queue']} has reached its ticket stop ({r['waiting']} waiting, "
        f"limit {r['max_waiting']}). Please ask at reception.",
        queue=r["queue"],
    )


def _counter_closed(r: _Refused) -> WaitboardError:
    return CounterClosed(f"{r.counter_name()} is closed; open it first.", counter=r["counter"])


def _counter_paused(r: _Refused) -> WaitboardError:
    return CounterPaused(
        f"{r.counter_name()} is paused; resume it (Weiter) before calling the next ticket.",
        counter=r["counter"],
    )


def _counter_busy(r: _Refused) -> WaitboardError:
    return CounterBusy(
        f"{r.counter_name()} still has ticket {r['number']} "
        f"({r['state']}); complete it, mark a no-show or transfer it first.",
        counter=r["counter"],
        ticket=r["number"],
    )


def _other_counter(r: _Refused) -> WaitboardError:
    return OtherCounter(
        f"Ticket {r['number']} is at {r.counter_name()}; only a device "
        "of that counter may do this.",
        ticket=r["number"],
    )


def _invalid_transition(r: _Refused) -> WaitboardError:
    return InvalidTransition(
        r["number"],
        r["state"],
        r["action"],
        [s.value for s in allowed_from(Action(r["action"]))],
    )


def _same_queue(r: _Refused) -> WaitboardError:
    return SameQueue(
        f"Ticket {r['number']} already waits in queue {r['queue']}.",
        ticket=r["number"],
        queue=r["queue"],
    )


def _slot_full(r: _Refused) -> WaitboardError:
    return SlotFull(
        f"The slot at {r.at('slot'):%Y-%m-%d %H:%M} is fully booked; pick another one.",
        queue=r["queue"],
        slot=r.at("slot").isoformat(timespec="minutes"),
    )


def _booking_not_found(r: _Refused) -> WaitboardError:
    return BookingNotFound(
        "There is no appointment with this code. Check the code "
        "on your confirmation; a code is eight letters and digits."
    )


def _booking_cancelled(r: _Refused) -> WaitboardError:
    return BookingCancelled(
        "This appointment was cancelled; book a new one.",
        slot=r.at("slot").isoformat(timespec="minutes"),
    )


def _booking_arrived(r: _Refused) -> WaitboardError:
    return BookingArrived(
        f"This appointment is already checked in: ticket "
        f"{r['number']}. It cannot be moved or cancelled now.",
        number=r["number"],
    )


def _booking_other_day(r: _Refused) -> WaitboardError:
    day = r.at("slot")
    return BookingOtherDay(
        f"This appointment is on {day:%Y-%m-%d} at {day:%H:%M}, "
        "not today. Please come back on that day.",
        date=f"{day:%d.%m.%Y}",
        time=f"{day:%H:%M}",
    )


def _booking_passed(r: _Refused) -> WaitboardError:
    day = r.at("slot")
    return BookingPassed(
        f"This appointment was on {day:%Y-%m-%d} at {day:%H:%M} and "
        "has passed. Please book a new one or take a number.",
        date=f"{day:%d.%m.%Y}",
        time=f"{day:%H:%M}",
    )


def _booking_too_early(r: _Refused) -> WaitboardError:
    slot, opens = r.at("slot"), r.at("opens")
    return BookingTooEarly(
        f"Check-in for the appointment at {slot:%H:%M} opens at {opens:%H:%M}.",
        time=f"{slot:%H:%M}",
        opens=f"{opens:%H:%M}",
    )


#: A script's error code -> the error with its sentence.
_REFUSALS: Mapping[str, Callable[[_Refused], WaitboardError]] = {
    "idempotency_key_reused": _key_reused,
    "idempotency_key_in_use": lambda r: key_in_use(),
    "queue_closed": _queue_closed,
    "ticket_stop": _ticket_stop,
    "counter_closed": _counter_closed,
    "counter_busy": _counter_busy,
    "counter_paused": _counter_paused,
    "ticket_not_found": lambda r: NoSuchTicket(r["ticket"]),
    "other_counter": _other_counter,
    "invalid_transition": _invalid_transition,
    "same_queue": _same_queue,
    "slot_full": _slot_full,
    "booking_not_found": _booking_not_found,
    "booking_cancelled": _booking_cancelled,
    "booking_arrived": _booking_arrived,
    "booking_other_day": _booking_other_day,
    "booking_passed": _booking_passed,
    "booking_too_early": _booking_too_early,
    "code_taken": lambda r: CodeTaken("A new booking code collided with an existing one."),
}


def refusal(office: Office, loc: Location, now: datetime, out: dict[str, Any]) -> WaitboardError:
    """The error for a script's refusal (``{"error": "counter_busy", ...}``),
    with a sentence that says what is wrong and what to do, in the office's time."""
    code = out.get("error")
    make = _REFUSALS.get(code) if isinstance(code, str) else None
    if make is None:
        return WaitboardError(f"Unexpected answer from Redis: {code!r}")
    return make(_Refused(office, loc, now, out))
