"""Booking commands as every front end runs them: the public API and the booking pages.

Validation against the plan (:mod:`waitboard.core.appointments`) happens here, before the
store; the store's script then takes the place atomically, so two people never get the
last place of a slot. Codes are only ever shown to the person who booked; Redis keeps
their SHA-256.

A public Idempotency-Key is bound to the client that sent it (:func:`client_digest`): the
booking pages' client cookie, else the client's address. A retry from that client finds
its booking again; the same key from anyone else gets 409 and never the booking, since a
code derived from a guessable key ("1") would otherwise be anybody's for the asking.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from waitboard.context import AppContext
from waitboard.core import appointments
from waitboard.core.appointments import Slot
from waitboard.core.clock import to_ms
from waitboard.core.errors import BookingNotFound, IdempotencyMismatch, SlotFull, Unprocessable
from waitboard.core.languages import CITIZEN_LANGUAGES
from waitboard.core.languages import DEFAULT as DEFAULT_LANGUAGE
from waitboard.core.office import AppointmentPlan, Location, Queue
from waitboard.core.refusals import CodeTaken, key_in_use
from waitboard.core.staff import Actor
from waitboard.core.state import Booking

#: Bookings and their slot counts stay readable this long after their day (the holder's
#: page says "done"; the staff's list of yesterday still works), then Redis drops them.
KEEP_AFTER_DAY = timedelta(days=2)
#: A fresh random code that collides is drawn again, at most this often.
CODE_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class Booked:
    location: Location
    queue: Queue
    code: str
    booking: Booking
    replayed: bool = False


def appointment_queue(loc: Location, queue_id: str) -> Queue:
    q = loc.queue_by_id.get(queue_id)
    if q is None or q.appointments is None:
        offered = ", ".join(q.id for q in loc.appointment_queues) or "none"
        raise Unprocessable(
            f"Queue '{queue_id[:20]}' of {loc.id} takes no appointments; "
            f"appointment queues here: {offered}.",
            field="queue",
        )
    return q


def plan(q: Queue) -> AppointmentPlan:
    assert q.appointments is not None
    return q.appointments


def parse_start(text: str) -> datetime:
    try:
        start = datetime.fromisoformat(text.strip())
    except ValueError:
        raise Unprocessable(
            f"'{text[:40]}' is not a date and time like 2026-12-03T10:20:00+01:00.", field="start"
        ) from None
    if start.tzinfo is None:
        raise Unprocessable(
            "The start needs its UTC offset, e.g. 2026-12-03T10:20:00+01:00.", field="start"
        )
    return start


def parse_day(text: str | None, ctx: AppContext, loc: Location, q: Queue) -> date:
    """A day of the booking window (default: the first with slots)."""
    days = appointments.bookable_days(plan(q), loc, ctx.clock(), ctx.office.tz)
    if not text:
        if not days:
            raise Unprocessable("No appointments can be booked for this concern now.", field="date")
        return days[0]
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise Unprocessable(f"'{text[:20]}' is not a day like 2026-12-03.", field="date") from None
    if day not in days:
        raise Unprocessable(
            f"{day.isoformat()} has no bookable slots; bookable days: "
            f"{', '.join(d.isoformat() for d in days[:5]) or 'none'}.",
            field="date",
        )
    return day


def parse_lang(text: str | None) -> str | None:
    """The language a booking is made in, one of the citizen pages' (none: the office's)."""
    if text is None or text == "":
        return None
    if text not in CITIZEN_LANGUAGES:
        raise Unprocessable(
            f"The language must be one of {', '.join(CITIZEN_LANGUAGES)}, or left out.",
            field="lang",
        )
    return text


def parse_contact(text: str | None) -> str | None:
    """An optional e-mail address or phone number, as typed (printable, one line)."""
    if text is None or not text.strip():
        return None
    if not text.strip().isprintable():  # a line break or a control character
        raise Unprocessable(
            "The contact must be one line of at most 120 characters.", field="contact"
        )
    value = " ".join(text.split())
    if len(value) > 120:
        raise Unprocessable(
            "The contact must be one line of at most 120 characters.", field="contact"
        )
    if "@" not in value and sum(ch.isdigit() for ch in value) < 5:
        raise Unprocessable(
            "Give an e-mail address or a phone number as contact, or leave it empty.",
            field="contact",
        )
    return value


def code_of(text: str) -> str:
    code = appointments.parse_code(text)
    if code is None:
        raise Unprocessable(
            "A booking code is eight letters and digits, e.g. K7QM-4XPA.", field="code"
        )
    return code


async def day_slots(
    ctx: AppContext, loc: Location, q: Queue, day: date
) -> list[appointments.SlotView]:
    counts = await ctx.store.slot_counts(loc.id, q.id, [day.isoformat()])
    return appointments.free_slots(
        plan(q), loc, day, ctx.office.tz, counts[day.isoformat()], ctx.clock()
    )


async def free_days(ctx: AppContext, loc: Location, q: Queue) -> list[tuple[date, int]]:
    """Every bookable day with its free places (0: fully booked)."""
    now, tz = ctx.clock(), ctx.office.tz
    days = appointments.bookable_days(plan(q), loc, now, tz)
    counts = await ctx.store.slot_counts(loc.id, q.id, [d.isoformat() for d in days])
    return [
        (
            d,
            sum(
                v.free
                for v in appointments.free_slots(plan(q), loc, d, tz, counts[d.isoformat()], now)
            ),
        )
        for d in days
    ]


async def next_free(
    ctx: AppContext, loc: Location, q: Queue, after: datetime, n: int = appointments.SUGGESTIONS
) -> list[Slot]:
    """The first ``n`` free slots after ``after``: what a refusal suggests instead."""
    now, tz = ctx.clock(), ctx.office.tz
    days = [
        d
        for d in appointments.bookable_days(plan(q), loc, now, tz)
        if d >= after.astimezone(tz).date()
    ]
    counts = await ctx.store.slot_counts(loc.id, q.id, [d.isoformat() for d in days])
    found: list[Slot] = []
    for d in days:
        for view in appointments.free_slots(plan(q), loc, d, tz, counts[d.isoformat()], now):
            if view.free > 0 and view.slot.start > after:
                found.append(view.slot)
                if len(found) == n:
                    return found
    return found


def client_digest(secret: str, client: str) -> str:
    """What a booking keeps of the client its Idempotency-Key is bound to (``cookie:<id>``
    or ``address:<address>``): keyed with the server's secret, so that neither an address
    nor a cookie's id can be read from it, or found by trying addresses."""
    return hmac.new(
        secret.encode(), f"booking-client\n{client}".encode(), hashlib.sha256
    ).hexdigest()


async def book(
    ctx: AppContext,
    loc: Location,
    queue_id: str,
    start_text: str,
    contact_text: str | None,
    idempotency_key: str | None,
    *,
    client: str,
    lang: str | None = None,
) -> Booked:
    """Book a place; SlotFull (409) carries ``next_free`` when the slot has none left.

    With an Idempotency-Key the code is derived from it, so the same request from the same
    ``client`` finds its booking again - also once the slot has become too soon to book
    or full. The key from another client: IdempotencyKeyInUse (409), nothing booked.
    ``lang``: the language it is booked in; its confirmation, calendar file and reminders
    speak it."""
    q = appointment_queue(loc, queue_id)
    contact = parse_contact(contact_text)
    lang = parse_lang(lang)
    start = parse_start(start_text)
    request = bound_to = None
    if idempotency_key is not None:
        bound_to = client_digest(ctx.settings.secret_key, client)
        # Keyed with the server's secret: the booking outlives its contact, which must not
        # be recoverable from it by trying phone numbers.
        request = hmac.new(
            ctx.settings.secret_key.encode(),
            f"{loc.id}|{q.id}|{start.timestamp():.0f}|{contact or ''}".encode(),
            hashlib.sha256,
        ).hexdigest()
        code = appointments.code_for_key(ctx.settings.secret_key, f"{loc.id}\n{idempotency_key}")
    try:
        slot = appointments.bookable_slot(plan(q), loc, start, ctx.clock(), ctx.office.tz)
    except appointments.NotASlot as e:
        # A retry may come after its slot stopped being bookable (too soon now); the
        # script replays a retry (or refuses a reused key) by itself in every other case.
        replay = (
            await _replay(ctx, loc, q, code, request, bound_to)
            if request is not None and bound_to is not None
            else None
        )
        if replay is not None:
            return replay
        raise Unprocessable(str(e), field="start") from None
    day_end = appointments.end_of_day(slot.start.date(), ctx.office.tz)
    for _ in range(CODE_ATTEMPTS):
        if idempotency_key is None:
            code = appointments.new_code()
        try:
            booking, replayed = await ctx.store.book(
                loc.id,
                q.id,
                slot.start_ms,
                slot.start.date().isoformat(),
                appointments.code_hash(code),
                to_ms(day_end + KEEP_AFTER_DAY),
                contact=contact,
                contact_until_ms=to_ms(day_end),
                request=request,
                client=bound_to,
                lang=lang,
            )
        except CodeTaken:
            continue
        except SlotFull as e:
            raise await _with_suggestions(ctx, loc, q, slot, e) from None
        if ctx.reminders is not None:  # (a replay too: the same jobs, added once)
            await ctx.reminders.schedule(loc, code, booking, contact)
        return Booked(loc, q, code, booking, replayed)
    raise RuntimeError("could not draw a free booking code")


async def _replay(
    ctx: AppContext, loc: Location, q: Queue, code: str, request: str, client: str
) -> Booked | None:
    """The booking made before under this Idempotency-Key, if this is the same request
    from the same client (book.lua decides the same way); 409 if another client made it,
    422 if the key was used for another booking."""
    try:
        booking, _ = await ctx.store.booking(loc.id, appointments.code_hash(code))
    except BookingNotFound:
        return None
    if booking.client != client:
        raise key_in_use()
    if booking.request != request:
        raise IdempotencyMismatch(
            "This Idempotency-Key was already used for a different booking. Use a new "
            "key for a new booking, and the same key only to retry the same one."
        )
    return Booked(loc, q, code, booking, replayed=True)


async def find(
    ctx: AppContext, code_text: str
) -> tuple[Location, Queue, str, Booking, dict[str, str]]:
    code = code_of(code_text)
    loc, booking, ticket = await ctx.store.find_booking(appointments.code_hash(code))
    q = loc.queue_by_id.get(booking.queue)
    if q is None or q.appointments is None:
        raise BookingNotFound(
            "This appointment's concern is no longer offered; please ask at reception."
        )
    return loc, q, code, booking, ticket


#: Who, acting on a booking, is staff whose change the audit records: not a terminal or
#: a display (a citizen at one acts as its holder), nor a sensor.
STAFF_ROLES = ("reception", "counter", "caseworker", "admin")


def staff_actor(actor: Actor | None) -> Actor | None:
    """The actor a booking's change is recorded under: staff, or None (its holder)."""
    return actor if actor is not None and actor.role in STAFF_ROLES else None


async def move(
    ctx: AppContext, code_text: str, start_text: str, actor: Actor | None = None
) -> Booked:
    """Move a booking. ``actor``: staff moving it (recorded in the audit); None: its
    holder with the code (not recorded)."""
    loc, q, code, _, _ = await find(ctx, code_text)
    try:
        slot = appointments.bookable_slot(
            plan(q), loc, parse_start(start_text), ctx.clock(), ctx.office.tz
        )
    except appointments.NotASlot as e:
        raise Unprocessable(str(e), field="start") from None
    day_end = appointments.end_of_day(slot.start.date(), ctx.office.tz)
    try:
        moved = await ctx.store.move_booking(
            loc.id,
            appointments.code_hash(code),
            slot_ms=slot.start_ms,
            slot_day=slot.start.date().isoformat(),
            capacity=plan(q).capacity,
            keep_until_ms=to_ms(day_end + KEEP_AFTER_DAY),
            contact_until_ms=to_ms(day_end),
            actor=actor,
        )
    except SlotFull as e:
        raise await _with_suggestions(ctx, loc, q, slot, e) from None
    if ctx.reminders is not None:
        await ctx.reminders.schedule_moved(loc, code, moved)
    return Booked(loc, q, code, moved)


async def _with_suggestions(
    ctx: AppContext, loc: Location, q: Queue, slot: Slot, full: SlotFull
) -> SlotFull:
    """The refusal, with the next free slots to pick from instead."""
    free = await next_free(ctx, loc, q, slot.start)
    starts = [s.start.isoformat(timespec="minutes") for s in free]
    listed = ", ".join(f"{s.start:%Y-%m-%d %H:%M}" for s in free)
    detail = full.detail + (
        f" Next free: {listed}." if free else " No other slot is free in the booking window."
    )
    return SlotFull(detail, next_free=starts, **full.extra)


async def cancel(ctx: AppContext, code_text: str, actor: Actor | None = None) -> Booked:
    """Cancel a booking. ``actor``: staff cancelling it (recorded in the audit); None: its
    holder with the code (not recorded)."""
    loc, q, code, _, _ = await find(ctx, code_text)
    cancelled = await ctx.store.move_booking(loc.id, appointments.code_hash(code), actor=actor)
    return Booked(loc, q, code, cancelled)


def view(
    ctx: AppContext,
    loc: Location,
    q: Queue,
    code: str,
    booking: Booking,
    ticket: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The Appointment shape (schemas.Appointment)."""
    tz = ctx.office.tz
    start = datetime.fromtimestamp(booking.slot_ms / 1000, tz)
    end = start + timedelta(minutes=plan(q).slot_minutes)
    shown = appointments.format_code(code)
    return {
        "code": shown,
        "location": loc.id,
        "location_name": loc.name,
        "queue": q.id,
        "queue_name": q.name,
        "queue_name_en": q.name_en or q.name,
        "start": start.isoformat(timespec="minutes"),
        "end": end.isoformat(timespec="minutes"),
        "status": booking.status,
        "ticket_number": booking.number,
        "ticket_id": booking.ticket_id,
        "ticket_status": (ticket or {}).get("status"),
        "late": booking.late,
        "lang": booking.lang or DEFAULT_LANGUAGE,
        "url": f"/appointments/{shown}",
        "ics_url": f"/appointments/{shown}.ics",
    }
