"""The HTTP status of every outcome and every kind of error: the edges' one table.

The layers below the edges speak in kinds (:class:`~waitboard.core.outcomes.OutcomeKind`,
:class:`~waitboard.core.errors.ErrorKind`); the API (``web/``), the pages (``pages/``) and
the app-wide error handlers answer in HTTP statuses and take them from here, so a refusal
has the same status as problem+json and as a page.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from waitboard.core.errors import ErrorKind, WaitboardError
from waitboard.core.outcomes import OutcomeKind

OUTCOME_STATUS: Final[Mapping[OutcomeKind, int]] = MappingProxyType(
    {
        OutcomeKind.CREATED: 201,
        OutcomeKind.DONE: 200,
        OutcomeKind.NOTHING: 204,  # (no body)
    }
)

ERROR_STATUS: Final[Mapping[ErrorKind, int]] = MappingProxyType(
    {
        ErrorKind.MALFORMED: 400,
        ErrorKind.UNAUTHENTICATED: 401,
        ErrorKind.FORBIDDEN: 403,
        ErrorKind.NOT_FOUND: 404,
        ErrorKind.CONFLICT: 409,
        ErrorKind.TOO_LARGE: 413,
        ErrorKind.UNSUPPORTED_MEDIA: 415,
        ErrorKind.INVALID: 422,
        ErrorKind.LIMITED: 429,
        ErrorKind.INTERNAL: 500,
        ErrorKind.UNAVAILABLE: 503,
    }
)


def status_of(error: WaitboardError) -> int:
    """The HTTP status an error is answered with."""
    return ERROR_STATUS[error.kind]
