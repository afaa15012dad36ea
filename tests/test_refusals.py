"""A script's refusal as an error of its kind, with a sentence in the office's names and
time. Pure: no Redis, the scripts' answers written out."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.helpers import office_with_appointments
from waitboard.core.errors import (
    BookingArrived,
    BookingCancelled,
    BookingNotFound,
    BookingOtherDay,
    BookingPassed,
    BookingTooEarly,
    CounterBusy,
    CounterClosed,
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
from waitboard.core.refusals import CodeTaken, refusal

OFFICE = office_with_appointments()
SUED = OFFICE.location_by_id["sued"]
NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
#: 2026-11-30 09:40 in Berlin (08:40 UTC), in ms as the scripts send moments.
SLOT_MS = int(datetime(2026, 11, 30, 8, 40, tzinfo=UTC).timestamp() * 1000)
OPENS_MS = SLOT_MS - 30 * 60 * 1000


@pytest.mark.parametrize(
    ("facts", "kind", "says"),
    [
        ({"error": "idempotency_key_reused"}, IdempotencyMismatch, "different request"),
        ({"error": "idempotency_key_in_use"}, IdempotencyKeyInUse, "another client"),
        ({"error": "queue_closed", "queue": "A"}, QueueClosed, "Location sued is closed now"),
        (
            {"error": "ticket_stop", "queue": "A", "waiting": 30, "max_waiting": 30},
            TicketStop,
            "(30 waiting, limit 30)",
        ),
        ({"error": "counter_closed", "counter": "2"}, CounterClosed, "Schalter 2 is closed"),
        (
            {"error": "counter_busy", "counter": "1", "number": "A017", "state": "called"},
            CounterBusy,
            "Schalter 1 still has ticket A017 (called)",
        ),
        ({"error": "counter_closed", "counter": "9"}, CounterClosed, "9 is closed"),
        ({"error": "ticket_not_found", "ticket": "t_sued_x"}, NoSuchTicket, "t_sued_x"),
        (
            {"error": "other_counter", "counter": "2", "number": "B003"},
            OtherCounter,
            "Ticket B003 is at Schalter 2",
        ),
        (
            {"error": "invalid_transition", "number": "A001", "state": "done", "action": "start"},
            InvalidTransition,
            "A001",
        ),
        (
            {"error": "same_queue", "number": "A001", "queue": "A"},
            SameQueue,
            "already waits in queue A",
        ),
        (
            {"error": "slot_full", "queue": "T", "slot": SLOT_MS},
            SlotFull,
            "The slot at 2026-11-30 09:40 is fully booked",
        ),
        ({"error": "booking_not_found"}, BookingNotFound, "no appointment with this code"),
        ({"error": "booking_cancelled", "slot": SLOT_MS}, BookingCancelled, "was cancelled"),
        ({"error": "booking_arrived", "number": "T002"}, BookingArrived, "ticket T002"),
        (
            {"error": "booking_other_day", "slot": SLOT_MS},
            BookingOtherDay,
            "on 2026-11-30 at 09:40, not today",
        ),
        (
            {"error": "booking_passed", "slot": SLOT_MS},
            BookingPassed,
            "was on 2026-11-30 at 09:40 and has passed",
        ),
        (
            {"error": "booking_too_early", "slot": SLOT_MS, "opens": OPENS_MS},
            BookingTooEarly,
            "appointment at 09:40 opens at 09:10",
        ),
        ({"error": "code_taken"}, CodeTaken, "collided"),
    ],
)
def test_a_refusal_is_an_error_of_its_kind_with_a_sentence(
    facts: dict[str, Any], kind: type[WaitboardError], says: str
) -> None:
    """Each code the scripts refuse with becomes its error, naming counters by their names
    (by id when no longer configured) and times in the office's time zone."""
    error = refusal(OFFICE, SUED, NOW, facts)
    assert type(error) is kind
    assert says in str(error)


@pytest.mark.parametrize("code", ["no_such_code", None, ["counter_busy"]])
def test_an_unknown_refusal_is_a_plain_error_that_names_it(code: Any) -> None:
    """A code the core does not know is not mistaken for another; the error names it."""
    error = refusal(OFFICE, SUED, NOW, {"error": code})
    assert type(error) is WaitboardError
    assert repr(code) in str(error)
