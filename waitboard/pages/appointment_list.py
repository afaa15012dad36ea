"""The staff's list of a day's appointments per queue: expected, here (with their number),
late, not come, cancelled."""

from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from waitboard.context import context
from waitboard.core import appointments, daystats
from waitboard.core.clock import iso, to_ms
from waitboard.core.office import Location
from waitboard.core.state import Booking
from waitboard.pages import sessions
from waitboard.pages.render import render
from waitboard.services.auth import APPOINTMENT_LIST_ROLES, CONTACT_ROLES


async def appointments_page(request: Request) -> Response:
    """The day's appointments per queue: expected, here (with their number), late, not
    come, cancelled."""
    ctx = context(request)
    loc = ctx.location(request.path_params["location"])
    device = await sessions.require_staff(request, APPOINTMENT_LIST_ROLES, location=loc.id)
    tz = ctx.office.tz
    now = ctx.clock()
    today = now.astimezone(tz).date()
    try:
        day = daystats.parse_day(request.query_params.get("date"), today)
    except ValueError:
        day = today.isoformat()
    rows = await ctx.store.day_bookings(loc.id, day)
    with_contact = device.role in CONTACT_ROLES
    return render(
        request,
        "staff/appointments.html",
        staff=True,
        device=device,
        location=loc,
        day=day,
        today=today.isoformat(),
        days=appointment_days(today),
        with_contact=with_contact,
        **appointment_rows(loc, rows, now, tz, with_contact=with_contact),
    )


def appointment_days(today: date) -> list[str]:
    """Yesterday, today and the coming week: the days the list offers at a click."""
    return [(today + timedelta(days=n)).isoformat() for n in range(-1, 8)]


def appointment_rows(
    loc: Location, rows: list[Booking], now: datetime, tz: tzinfo, *, with_contact: bool
) -> dict[str, Any]:
    """The list's rows by queue, each with its state as the staff read it (and, for those
    who may see it, the contact), and the day's counts."""
    now_ms = to_ms(now)
    by_queue: dict[str, list[dict[str, Any]]] = {q.id: [] for q in loc.appointment_queues}
    counts = {"booked": 0, "arrived": 0, "missing": 0, "cancelled": 0}
    for b in rows:
        q = loc.queue_by_id.get(b.queue)
        if q is None or q.appointments is None:
            continue
        if b.status == "cancelled":
            state = "cancelled"
        elif b.status == "arrived":
            state = "arrived_late" if b.late else "arrived"
        elif appointments.missed(q.appointments, b.slot_ms, now_ms):
            state = "missed"
        else:
            state = "booked"
        counts[{"arrived_late": "arrived", "missed": "missing"}.get(state, state)] += 1
        by_queue[q.id].append(
            {
                "time": iso(b.slot_ms, tz),
                "state": state,
                "number": b.number,
                "ticket_status": b.ticket_status,
                "contact": b.contact if with_contact else None,
            }
        )
    return {"queues": [(q, by_queue[q.id]) for q in loc.appointment_queues], "counts": counts}
