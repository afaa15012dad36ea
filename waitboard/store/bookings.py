"""Appointments of a location in Redis: booking a slot, moving or cancelling it, checking
in on arrival, and the reads of the booking pages and the staff's day list.

A booking is found by the SHA-256 of its code, never by the code itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from waitboard.core.audit import by
from waitboard.core.errors import BookingNotFound
from waitboard.core.office import Location
from waitboard.core.refusals import refusal
from waitboard.core.staff import Actor
from waitboard.core.state import Booking
from waitboard.store import keys
from waitboard.store.idempotency import Idempotency
from waitboard.store.location_scripts import LocationScripts
from waitboard.store.outcomes import Outcome
from waitboard.store.tickets import new_ticket_id


class BookingCommands(LocationScripts):
    """The commands and reads of appointments (part of
    :class:`~waitboard.store.office_store.Store`)."""

    async def book(
        self,
        location: str,
        queue: str,
        slot_ms: int,
        slot_day: str,
        code_hash: str,
        keep_until_ms: int,
        *,
        contact: str | None = None,
        contact_until_ms: int = 0,
        request: str | None = None,
        client: str | None = None,
        lang: str | None = None,
    ) -> tuple[Booking, bool]:
        """A place in a slot: (the booking, whether it was there already for this request).
        ``request``: the fingerprint of a booking made under an Idempotency-Key; ``client``:
        the digest of the client that key is bound to (the same key from another client is
        refused: IdempotencyKeyInUse)."""
        loc = self.office.location_by_id[location]
        q = loc.queue_by_id[queue]
        assert q.appointments is not None
        args: dict[str, Any] = {
            "queue": queue,
            "slot": slot_ms,
            "slot_day": slot_day,
            "capacity": q.appointments.capacity,
            "code_hash": code_hash,
            "keep_until": keep_until_ms,
        }
        if request is not None:
            args["request"] = request
        if client:  # (none: a booking no retry can find again; book.lua never replays it)
            args["client"] = client
        if lang:
            args["lang"] = lang
        if contact:
            args["contact"] = contact
            args["contact_until"] = contact_until_ms
        out = await self._eval("book", loc, args)
        if "error" in out:
            raise refusal(self.office, loc, self.clock(), out)
        return Booking.parse(out["booking"]), bool(out.get("replayed"))

    async def move_booking(
        self,
        location: str,
        code_hash: str,
        *,
        slot_ms: int | None = None,
        slot_day: str = "",
        capacity: int = 0,
        keep_until_ms: int = 0,
        contact_until_ms: int = 0,
        actor: Actor | None = None,
    ) -> Booking:
        """Move a booking to another slot of its queue, or cancel it (``slot_ms`` None).
        ``actor``: staff making the change (recorded in the audit); None: its holder."""
        loc = self.office.location_by_id[location]
        args: dict[str, Any] = {"code_hash": code_hash, "by": by(actor)}
        if slot_ms is None:
            args["cancel"] = True
        else:
            args.update(
                slot=slot_ms,
                slot_day=slot_day,
                capacity=capacity,
                keep_until=keep_until_ms,
                contact_until=contact_until_ms,
            )
        out = await self._eval("move_booking", loc, args)
        if "error" in out:
            raise refusal(self.office, loc, self.clock(), out)
        return Booking.parse(out["booking"])

    async def booking(self, location: str, code_hash: str) -> tuple[Booking, dict[str, str]]:
        """A booking and, once checked in, its ticket's status and number."""
        loc = self.office.location_by_id[location]
        out = await self._eval("booking", loc, {"code_hash": code_hash}, read=True)
        if "error" in out:  # (booking_not_found: the only refusal of a read)
            raise BookingNotFound("There is no appointment with this code.")
        return Booking.parse(out["booking"]), dict(out.get("ticket") or {})

    async def booking_contact(self, location: str, code_hash: str) -> str | None:
        """A booking's contact, while it is kept (until the end of its day, or until it is
        cancelled); None after. (From the commands' connection: a reminder must not find a
        contact that a cancellation has just deleted.)"""
        raw = await self.redis.get(keys.booking_contact(location, code_hash))
        if raw is None:
            return None
        return raw.decode() if isinstance(raw, bytes) else str(raw)

    async def find_booking(self, code_hash: str) -> tuple[Location, Booking, dict[str, str]]:
        """The booking of a code at whichever location took it."""
        for loc in self.office.locations:
            if loc.appointment_queues:
                try:
                    booking, ticket = await self.booking(loc.id, code_hash)
                except BookingNotFound:
                    continue
                return loc, booking, ticket
        raise BookingNotFound(
            "There is no appointment with this code. Check the code on "
            "your confirmation; a code is eight letters and digits."
        )

    async def slot_counts(
        self, location: str, queue: str, days: Sequence[str]
    ) -> dict[str, dict[int, int]]:
        """Places taken per slot start (ms), for each of ``days``."""
        loc = self.office.location_by_id[location]
        out = await self._eval("slot_counts", loc, {"queue": queue, "days": list(days)}, read=True)
        return {day: {int(k): int(v) for k, v in (out.get(day) or {}).items()} for day in days}

    async def day_bookings(self, location: str, day: str) -> list[Booking]:
        loc = self.office.location_by_id[location]
        out = await self._eval("day_bookings", loc, {"date": day}, read=True)
        rows = out.get("bookings") or []
        return [Booking.parse(r) for r in (rows if isinstance(rows, list) else [])]

    async def check_in(
        self,
        location: str,
        code_hash: str,
        device: str,
        *,
        early_ms: int,
        late_ms: int,
        walk_in: str,
        closed: bool = False,
        idem: Idempotency | None = None,
        actor: Actor | None = None,
    ) -> Outcome:
        """A ticket for the holder of a booking (the same one again if already checked in).
        The window and walk-in queue are those of the booking queue's plan. ``closed``: a
        late arrival is refused (QueueClosed), as a walk-in would be at a terminal out of hours."""
        loc = self.office.location_by_id[location]
        args: dict[str, Any] = {
            "code_hash": code_hash,
            "ticket_id": new_ticket_id(location),
            "device": device,
            "early_ms": early_ms,
            "late_ms": late_ms,
            "walk_in": walk_in,
        }
        max_waiting = loc.queue_by_id[walk_in].max_waiting
        if max_waiting is not None:
            args["max_waiting"] = max_waiting
        if closed:
            args["closed"] = True
        outcome = await self._command("check_in", loc, args, idem, actor)
        return outcome
