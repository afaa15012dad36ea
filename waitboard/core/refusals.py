"""What a script's refusal means: the error, with a sentence a person can act on.

The Lua scripts answer a refused command with a code and the facts behind it
(``{"error": "counter_busy", "counter": "2", "number": "A017"}``); this
module turns them into :mod:`waitboard.core.errors` - names of counters, times in the office's
time zone - so every front end says the same.
"""

from __future__ import annotations

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


def refusal(office: Office, loc: Location, now: datetime, out: dict[str, Any]) -> WaitboardError:
    """The error for a script's refusal (``{"error": "counter_busy", ...}``),
    with a sentence that says what is wrong and what to do, in the office's time."""
    code = out.get("error")

    def counter_name(cid: Any) -> str:
        c = loc.counter_by_id.get(str(cid))
        return c.name if c else str(cid)

    if code == "idempotency_key_reused":
        return IdempotencyMismatch(
            "This Idempotency-Key was already used for a different request. Use a new "
            "key for a new request, and the same key only to retry the same request."
        )
    if code == "idempotency_key_in_use":
        return key_in_use()
    if code == "queue_closed":
        local = now.astimezone(office.tz)
        nxt = loc.opening_hours.next_opening(local)
        when = f"; it opens {WEEKDAYS[nxt.weekday()].capitalize()} {nxt:%H:%M}" if nxt else ""
        return QueueClosed(f"Location {loc.id} is closed now{when}.", queue=out["queue"])
    if code == "ticket_stop":
        return TicketStop(
            f"Queue {out['queue']} has reached its ticket stop ({out['waiting']} waiting, "
            f"limit {out['max_waiting']}). Please ask at reception.",
            queue=out["queue"],
        )
    if code == "counter_closed":
        return CounterClosed(
            f"{counter_name(out['counter'])} is closed; open it first.", counter=out["counter"]
        )
    if code == "counter_busy":
        return CounterBusy(
            f"{counter_name(out['counter'])} still has ticket {out['number']} "
            f"({out['state']}); complete it, mark a no-show or transfer it first.",
            counter=out["counter"],
            ticket=out["number"],
        )
    if code == "ticket_not_found":
        return NoSuchTicket(out["ticket"])
    if code == "other_counter":
        return OtherCounter(
            f"Ticket {out['number']} is at {counter_name(out['counter'])}; only a device "
            "of that counter may do this.",
            ticket=out["number"],
        )
    if code == "invalid_transition":
        return InvalidTransition(
            out["number"],
            out["state"],
            out["action"],
            [s.value for s in allowed_from(Action(out["action"]))],
        )
    if code == "same_queue":
        return SameQueue(
            f"Ticket {out['number']} already waits in queue {out['queue']}.",
            ticket=out["number"],
            queue=out["queue"],
        )

    def at(ms: Any) -> datetime:
        return datetime.fromtimestamp(int(ms) / 1000, office.tz)

    if code == "slot_full":
        return SlotFull(
            f"The slot at {at(out['slot']):%Y-%m-%d %H:%M} is fully booked; pick another one.",
            queue=out["queue"],
            slot=at(out["slot"]).isoformat(timespec="minutes"),
        )
    if code == "booking_not_found":
        return BookingNotFound(
            "There is no appointment with this code. Check the code "
            "on your confirmation; a code is eight letters and digits."
        )
    if code == "booking_cancelled":
        return BookingCancelled(
            "This appointment was cancelled; book a new one.",
            slot=at(out["slot"]).isoformat(timespec="minutes"),
        )
    if code == "booking_arrived":
        return BookingArrived(
            f"This appointment is already checked in: ticket "
            f"{out['number']}. It cannot be moved or cancelled now.",
            number=out["number"],
        )
    if code == "booking_other_day":
        day = at(out["slot"])
        return BookingOtherDay(
            f"This appointment is on {day:%Y-%m-%d} at {day:%H:%M}, "
            "not today. Please come back on that day.",
            date=f"{day:%d.%m.%Y}",
            time=f"{day:%H:%M}",
        )
    if code == "booking_passed":
        day = at(out["slot"])
        return BookingPassed(
            f"This appointment was on {day:%Y-%m-%d} at {day:%H:%M} and "
            "has passed. Please book a new one or take a number.",
            date=f"{day:%d.%m.%Y}",
            time=f"{day:%H:%M}",
        )
    if code == "booking_too_early":
        opens = at(out["opens"])
        return BookingTooEarly(
            f"Check-in for the appointment at {at(out['slot']):%H:%M} opens at {opens:%H:%M}.",
            time=f"{at(out['slot']):%H:%M}",
            opens=f"{opens:%H:%M}",
        )
    if code == "code_taken":
        return CodeTaken("A new booking code collided with an existing one.")
    return WaitboardError(f"Unexpected answer from Redis: {code!r}")
