"""The store of an office's live state: one object, built once in the lifespan, that
carries every command and read of the locations - tickets, appointments, sessions, reports
of barriers - each part in its own module.
"""

from __future__ import annotations

from waitboard.store.barrier_reports import BarrierReports
from waitboard.store.bookings import BookingCommands
from waitboard.store.sessions import SessionMarks
from waitboard.store.staff_directory import StaffDirectory
from waitboard.store.tickets import TicketCommands


class Store(TicketCommands, BookingCommands, SessionMarks, BarrierReports, StaffDirectory):
    """``redis`` carries the commands; ``reads`` (its own pool, by default the same client)
    carries reads and the hub's subscription, so public load cannot starve the commands."""
