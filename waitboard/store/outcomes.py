"""What a successful command of a location did, as the store reports it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from waitboard.core.state import Booking, LocationState, TicketRecord

if TYPE_CHECKING:
    from waitboard.core.snapshot import Forecast


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a successful command did."""

    status: int  # 200, 201 or 204
    location: LocationState | None
    ticket: TicketRecord | None = None
    position: int | None = None
    counter: str | None = None
    replayed: bool = False
    booking: Booking | None = None  # a check-in's booking
    forecast: Forecast | None = None  # the new ticket's, once computed (commands)
