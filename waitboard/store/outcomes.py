"""What a successful command did, as the store reports it: its kind, never an HTTP status
(the edges choose that, :mod:`waitboard.http_status`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from waitboard.core.outcomes import OutcomeKind
from waitboard.core.state import Booking, LocationState, TicketRecord

if TYPE_CHECKING:
    from waitboard.core.snapshot import Forecast

#: The kind of an answer stored under an Idempotency-Key before answers said their kind
#: (they said a status, and live for a day): a retry across an upgrade is still a replay.
_KIND_OF_STORED_STATUS = {201: OutcomeKind.CREATED, 204: OutcomeKind.NOTHING}


def kind_of(answer: Mapping[str, Any]) -> OutcomeKind:
    """The kind of a script's successful answer."""
    if "kind" in answer:
        return OutcomeKind(answer["kind"])
    return _KIND_OF_STORED_STATUS.get(int(answer.get("status") or 200), OutcomeKind.DONE)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a successful command did."""

    kind: OutcomeKind
    location: LocationState | None
    ticket: TicketRecord | None = None
    position: int | None = None
    counter: str | None = None
    replayed: bool = False
    booking: Booking | None = None  # a check-in's booking
    forecast: Forecast | None = None  # the new ticket's, once computed (commands)
