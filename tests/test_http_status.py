"""The edges' one table of HTTP statuses: every kind has one, and every error answers the
status it always did."""

from __future__ import annotations

import pytest

from waitboard.core import errors
from waitboard.core.application_fields import InvalidChange, InvalidNumber
from waitboard.core.application_pins import InvalidPin, LookupFailed, TooManyAttempts
from waitboard.core.applications import (
    ApplicationExists,
    DeletedSince,
    FiledAnew,
    NoSuchApplication,
)
from waitboard.core.errors import ErrorKind, WaitboardError
from waitboard.core.outcomes import OutcomeKind
from waitboard.core.refusals import CodeTaken
from waitboard.http_status import ERROR_STATUS, OUTCOME_STATUS, status_of

#: The status of each error class, as the API and the pages have always answered them.
STATUS_OF_CLASS: dict[type[WaitboardError], int] = {
    WaitboardError: 500,
    errors.BadRequest: 400,
    errors.Unauthorized: 401,
    errors.LoginRequired: 401,
    errors.Forbidden: 403,
    errors.OtherCounter: 403,
    errors.CsrfFailed: 403,
    errors.NotFound: 404,
    errors.NoSuchTicket: 404,
    errors.BookingNotFound: 404,
    errors.BookingElsewhere: 404,
    NoSuchApplication: 404,
    LookupFailed: 404,
    errors.Conflict: 409,
    errors.InvalidTransition: 409,
    errors.QueueClosed: 409,
    errors.TicketStop: 409,
    errors.CounterClosed: 409,
    errors.CounterBusy: 409,
    errors.SameQueue: 409,
    errors.SlotFull: 409,
    errors.BookingCancelled: 409,
    errors.BookingArrived: 409,
    errors.BookingOtherDay: 409,
    errors.BookingPassed: 409,
    errors.BookingTooEarly: 409,
    errors.IdempotencyKeyInUse: 409,
    ApplicationExists: 409,
    DeletedSince: 409,
    FiledAnew: 409,
    CodeTaken: 409,
    errors.PayloadTooLarge: 413,
    errors.UnsupportedMediaType: 415,
    errors.Unprocessable: 422,
    errors.AppointmentsOnly: 422,
    errors.IdempotencyMismatch: 422,
    InvalidNumber: 422,
    InvalidChange: 422,
    InvalidPin: 422,
    TooManyAttempts: 429,
    errors.Unavailable: 503,
}


def test_every_kind_has_its_status() -> None:
    """No kind of outcome or error is left without an HTTP status."""
    assert set(OUTCOME_STATUS) == set(OutcomeKind)
    assert set(ERROR_STATUS) == set(ErrorKind)
    assert dict(OUTCOME_STATUS) == {
        OutcomeKind.CREATED: 201,
        OutcomeKind.DONE: 200,
        OutcomeKind.NOTHING: 204,
    }


@pytest.mark.parametrize(("cls", "status"), list(STATUS_OF_CLASS.items()))
def test_an_error_answers_its_status(cls: type[WaitboardError], status: int) -> None:
    """Each error's kind gives the status it has always been answered with."""
    assert ERROR_STATUS[cls.kind] == status
    error = cls.__new__(cls)  # (the status comes from the class; no arguments needed)
    assert status_of(error) == status
