"""One error hierarchy for waitboard.

Every error a person or device can cause carries an HTTP status, a stable machine-readable
``code`` (for terminals and pages to translate) and a ``detail`` sentence in English that
says what is wrong and what to do. The HTTP layer turns them into RFC 9457 problem+json.
"""

from __future__ import annotations

from typing import Any, ClassVar


class WaitboardError(Exception):
    """Base of all errors waitboard reports to its users."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    title: ClassVar[str] = "Internal error"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


# 400 family -------------------------------------------------------------------------------


class BadRequest(WaitboardError):
    status = 400
    code = "bad_request"
    title = "Bad request"


class Unauthorized(WaitboardError):
    status = 401
    code = "unauthorized"
    title = "Missing or unknown token"


class Forbidden(WaitboardError):
    status = 403
    code = "forbidden"
    title = "Not allowed for this device"


class NotFound(WaitboardError):
    status = 404
    code = "not_found"
    title = "Not found"


class NoSuchTicket(NotFound):
    """A ticket id that names no ticket (any more). The API's code stays ``not_found``; the
    page says how long tickets can be seen (its text, by the ``field``)."""

    def __init__(self, ticket_id: str, why: str = "") -> None:
        super().__init__(f"There is no ticket {ticket_id[:80]!r}{why}.", field="ticket")


class Conflict(WaitboardError):
    status = 409
    code = "conflict"
    title = "Conflict with the current state"


class PayloadTooLarge(WaitboardError):
    status = 413
    code = "payload_too_large"
    title = "Request body too large"


class UnsupportedMediaType(WaitboardError):
    status = 415
    code = "unsupported_media_type"
    title = "Unsupported media type"


class Unprocessable(WaitboardError):
    status = 422
    code = "invalid_request"
    title = "Invalid request"


class Unavailable(WaitboardError):
    status = 503
    code = "unavailable"
    title = "Service unavailable"


# Specific conditions ----------------------------------------------------------------------


class InvalidTransition(Conflict):
    """An action that the ticket's current state does not allow."""

    code = "invalid_transition"
    title = "Not allowed in the ticket's current state"

    def __init__(self, number: str, status: str, action: str, allowed_from: list[str]) -> None:
        allowed = ", ".join(allowed_from) or "no state"
        super().__init__(
            f"Ticket {number} is {status}; '{action}' is only possible when it is {allowed}.",
            ticket=number,
            state=status,
            action=action,
        )


class QueueClosed(Conflict):
    code = "queue_closed"
    title = "Queue closed"


class TicketStop(Conflict):
    code = "ticket_stop"
    title = "Ticket stop"


class CounterState(Conflict):
    code = "counter_state"
    title = "Not possible in the counter's current state"


class CounterClosed(CounterState):
    code = "counter_closed"


class CounterBusy(CounterState):
    code = "counter_busy"


class SameQueue(Conflict):
    code = "same_queue"
    title = "Already in that queue"


class OtherCounter(Forbidden):
    code = "other_counter"


class SlotFull(Conflict):
    """Every place of the slot is booked; ``next_free`` suggests others."""

    code = "slot_full"
    title = "Slot fully booked"


class BookingNotFound(NotFound):
    code = "booking_not_found"
    title = "No appointment with this code"


class BookingElsewhere(BookingNotFound):
    """The code is for an appointment at another location of the office."""

    code = "booking_elsewhere"


class BookingState(Conflict):
    code = "booking_state"
    title = "Not possible for this appointment now"


class BookingCancelled(BookingState):
    code = "booking_cancelled"


class BookingArrived(BookingState):
    code = "booking_arrived"


class BookingOtherDay(BookingState):
    code = "booking_other_day"


class BookingPassed(BookingState):
    code = "booking_passed"


class BookingTooEarly(BookingState):
    code = "booking_too_early"


class AppointmentsOnly(Unprocessable):
    """Tickets of an appointment queue come from check-ins, not from the buttons."""

    code = "appointments_only"


class LoginRequired(WaitboardError):
    """A staff page was opened without a (valid) session: the page sends to the login."""

    status = 401
    code = "login_required"
    title = "Login required"


class CsrfFailed(Forbidden):
    code = "csrf_failed"
    title = "Form expired"


class IdempotencyMismatch(Unprocessable):
    code = "idempotency_key_reused"
    title = "Idempotency-Key reused with another request"


class IdempotencyKeyInUse(Conflict):
    """A public Idempotency-Key that another client used first: its answer (a booking and
    its code) is that client's, so this one gets neither."""

    code = "idempotency_key_in_use"
    title = "Idempotency-Key in use by another client"


class ConfigError(Exception):
    """The office configuration is invalid; ``errors`` holds one line per problem."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors
