"""HTTP API v1 for appointments: the public booking, and check-in by the office's devices.

Booking needs no account and no token: the booking code is what proves a booking is
yours. A booking's Idempotency-Key is bound to the client's address
(:func:`waitboard.services.limits.address_binding`): a retry from it finds the booking
again, the same key from another address gets 409 ``idempotency_key_in_use``. Check-in
is a device command like issuing a ticket.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from waitboard.context import AppContext, context
from waitboard.core.staff import Actor
from waitboard.services import bookings
from waitboard.services import tickets as commands
from waitboard.services.auth import CHECK_IN_ROLES
from waitboard.services.limits import address_binding
from waitboard.web import bodies, schemas
from waitboard.web.api import Endpoint, _idempotency, _ticket_answer, idempotency_key, json


async def appointment_queues(request: Request) -> Response:
    ctx = context(request)
    loc = ctx.location(request.path_params["location"])
    out = []
    for q in loc.appointment_queues:
        days = await bookings.free_days(ctx, loc, q)
        out.append(
            {
                "location": loc.id,
                "queue": q.id,
                "name": q.name,
                "name_en": q.name_en or q.name,
                "slot_minutes": bookings.plan(q).slot_minutes,
                "days": [{"date": d.isoformat(), "free": free} for d, free in days],
            }
        )
    return json({"queues": out})


async def day_slots(request: Request) -> Response:
    ctx = context(request)
    loc = ctx.location(request.path_params["location"])
    q = bookings.appointment_queue(loc, request.path_params["queue"])
    day = bookings.parse_day(request.query_params.get("date"), ctx, loc, q)
    slots = await bookings.day_slots(ctx, loc, q, day)
    return json(
        {
            "location": loc.id,
            "queue": q.id,
            "date": day.isoformat(),
            "slots": [
                {
                    "start": v.slot.start.isoformat(timespec="minutes"),
                    "end": v.slot.end.isoformat(timespec="minutes"),
                    "free": v.free,
                }
                for v in slots
            ],
        }
    )


async def book(request: Request) -> Response:
    ctx = context(request)
    loc = ctx.location(request.path_params["location"])
    body = await bodies.parse(request, schemas.BookingRequest)
    booked = await bookings.book(
        ctx,
        loc,
        body.queue,
        body.start,
        body.contact,
        idempotency_key(request),
        client=address_binding(request.client.host if request.client else None),
        lang=body.lang,
    )
    data = bookings.view(ctx, loc, booked.queue, booked.code, booked.booking)
    return json(data, 201, {"Location": data["url"]}, replayed=booked.replayed)


async def get_appointment(request: Request) -> Response:
    ctx = context(request)
    loc, q, code, booking, ticket = await bookings.find(ctx, request.path_params["code"])
    return json(bookings.view(ctx, loc, q, code, booking, ticket))


def _staff(ctx: AppContext, request: Request) -> Actor | None:
    """Staff acting with a device's token (an unknown token is refused), whose change is
    recorded in the audit; None without a token: the holder with the code."""
    header = request.headers.get("authorization")
    return bookings.staff_actor(ctx.devices.authenticate(header) if header else None)


async def move_appointment(request: Request) -> Response:
    ctx = context(request)
    actor = _staff(ctx, request)
    body = await bodies.parse(request, schemas.MoveRequest)
    moved = await bookings.move(ctx, request.path_params["code"], body.start, actor)
    return json(bookings.view(ctx, moved.location, moved.queue, moved.code, moved.booking))


async def cancel_appointment(request: Request) -> Response:
    ctx = context(request)
    actor = _staff(ctx, request)
    await bodies.parse(request, schemas.EmptyRequest)
    cancelled = await bookings.cancel(ctx, request.path_params["code"], actor)
    return json(
        bookings.view(ctx, cancelled.location, cancelled.queue, cancelled.code, cancelled.booking)
    )


async def check_in(request: Request) -> Response:
    ctx = context(request)
    device = ctx.devices.authenticate(request.headers.get("authorization"))
    loc = commands.authorize_check_in(ctx, device, request.path_params["location"])
    body = await bodies.parse(request, schemas.CheckInRequest)
    outcome = await commands.check_in(
        ctx, device, loc, body.code, _idempotency(request, device, loc.id, body)
    )
    return _ticket_answer(ctx, loc, outcome)


_PUBLIC_ERRORS = (404, 409, 413, 415, 422, 503)
#: A change by the code's holder, or by staff with a token (401: a token not known).
_HOLDER_OR_STAFF_ERRORS = (401, *_PUBLIC_ERRORS)

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "GET",
        "/api/v1/locations/{location}/appointments",
        appointment_queues,
        "The concerns one can book an appointment for here, with their bookable days.",
        answers={200: schemas.AppointmentQueueList},
        errors=(404, 503),
        tag="appointments",
    ),
    Endpoint(
        "GET",
        "/api/v1/locations/{location}/appointments/{queue}",
        day_slots,
        "The slots of one day (default: the first bookable) and their free places.",
        answers={200: schemas.DaySlots},
        errors=(404, 422, 503),
        tag="appointments",
        query=(
            (
                "date",
                "The day, YYYY-MM-DD (default: the first bookable).",
                {"type": "string", "pattern": r"^(\d{4}-\d{2}-\d{2})?$"},
            ),
        ),
    ),
    Endpoint(
        "POST",
        "/api/v1/locations/{location}/appointments",
        book,
        "Book a place in a slot. 409 when it is fully booked, with next_free: the next "
        "free slots. An Idempotency-Key makes a retry from the same client address find "
        "the same booking; the key from another address: 409 idempotency_key_in_use.",
        body=schemas.BookingRequest,
        answers={201: schemas.Appointment},
        errors=_PUBLIC_ERRORS,
        tag="appointments",
        idempotent=True,
    ),
    Endpoint(
        "GET",
        "/api/v1/appointments/{code}",
        get_appointment,
        "A booking by its code: when, where, and whether checked in.",
        answers={200: schemas.Appointment},
        errors=(404, 422, 503),
        tag="appointments",
    ),
    Endpoint(
        "POST",
        "/api/v1/appointments/{code}/move",
        move_appointment,
        "Move a booking to another slot of the same concern (409 when that one is "
        "full, with next_free). Staff send their device's token (optional): their move "
        "is recorded in the audit.",
        body=schemas.MoveRequest,
        answers={200: schemas.Appointment},
        errors=_HOLDER_OR_STAFF_ERRORS,
        tag="appointments",
    ),
    Endpoint(
        "POST",
        "/api/v1/appointments/{code}/cancel",
        cancel_appointment,
        "Cancel a booking; its place is free again. Cancelling twice is harmless. Staff "
        "send their device's token (optional): their cancellation is recorded in the audit.",
        body=schemas.EmptyRequest,
        answers={200: schemas.Appointment},
        errors=_HOLDER_OR_STAFF_ERRORS,
        tag="appointments",
    ),
    Endpoint(
        "POST",
        "/api/v1/locations/{location}/check-in",
        check_in,
        "Check in the holder of a booking code: 201 a ticket in the appointment queue "
        "(or, too late, in its walk-in queue, marked late); 200 the same ticket when "
        "checked in already; 409 too early, another day or cancelled.",
        roles=CHECK_IN_ROLES,
        body=schemas.CheckInRequest,
        answers={200: schemas.Ticket, 201: schemas.Ticket},
        errors=(401, 403, 404, 409, 413, 415, 422, 503),
        tag="appointments",
    ),
)
