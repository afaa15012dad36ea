"""One error hierarchy for waitboard.

Every error a person or device can cause carries its :class:`ErrorKind`, a stable
machine-readable ``code`` (for terminals and pages to translate) and a ``detail`` sentence
in English that says what is wrong and what to do. The edges give each kind its HTTP status
(:mod:`waitboard.http_status`) and turn the error into RFC 9457 problem+json or a page.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar


class ErrorKind(StrEnum):
    """What kind of failure an error is, in words of the domain; nothing below the edges
    speaks HTTP."""

    MALFORMED = "malformed"  # the request cannot be read as one
    UNAUTHENTICATED = "unauthenticated"  # who asks is not known
    FORBIDDEN = "forbidden"  # who asks may not do this
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"  # not possible in the current state of things
    TOO_LARGE = "too_large"
    UNSUPPORTED_MEDIA = "unsupported_media"
    INVALID = "invalid"  # read, but not acceptable as it is
    LIMITED = "limited"  # too many attempts for now
    UNAVAILABLE = "unavailable"  # a part the service needs is away; try again
    INTERNAL = "internal"


class WaitboardError(Exception):
    """Base of all errors waitboard reports to its users."""

    kind: ClassVar[ErrorKind] = ErrorKind.INTERNAL
    code: ClassVar[str] = "internal_error"
    title: ClassVar[str] = "Internal error"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


# Refusals -------------------------------------------------------------------------------


class BadRequest(WaitboardError):
    kind = ErrorKind.MALFORMED
    code = "bad_request"
    title = "Bad request"


class Unauthorized(WaitboardError):
    kind = ErrorKind.UNAUTHENTICATED
    code = "unauthorized"
    title = "Missing or unknown token"


class Forbidden(WaitboardError):
    kind = ErrorKind.FORBIDDEN
    code = "forbidden"
    title = "Not allowed for this device"


class NotFound(WaitboardError):
    kind = ErrorKind.NOT_FOUND
    code = "not_found"
    title = "Not found"


class NoSuchTicket(NotFound):
    """A ticket id that names no ticket (any more). The API's code stays ``not_found``; the
    page says how long tickets can be seen (its text, by the ``field``)."""

    def __init__(self, ticket_id: str, why: str = "") -> None:
        super().__init__(f"There is no ticket {ticket_id[:80]!r}{why}.", field="ticket")


class Conflict(WaitboardError):
    kind = ErrorKind.CONFLICT
    code = "conflict"
    title = "Conflict with the current state"


class PayloadTooLarge(WaitboardError):
    kind = ErrorKind.TOO_LARGE
    code = "payload_too_large"
    title = "Request body too large"


class UnsupportedMediaType(WaitboardError):
    kind = ErrorKind.UNSUPPORTED_MEDIA
    code = "unsupported_media_type"
    title = "Unsupported media type"


class Unprocessable(WaitboardError):
    kind = ErrorKind.INVALID
    code = "invalid_request"
    title = "Invalid request"


class Unavailable(WaitboardError):
    kind = ErrorKind.UNAVAILABLE
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


class CounterPaused(CounterState):
    code = "counter_paused"


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

    kind = ErrorKind.UNAUTHENTICATED
    code = "login_required"
    title = "Login required"


class WorkplaceRequired(LoginRequired):
    """A signed-in person who has not chosen where they work: the page sends to the choice."""

    code = "workplace_required"
    title = "Choose a workplace"


class SignInEnded(Forbidden):
    """A person's session ended at its re-check (``reason``: groups - no group allows a
    workplace any more; expired - the provider no longer confirms the sign-in)."""

    code = "sign_in_ended"
    title = "Signed out"


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
