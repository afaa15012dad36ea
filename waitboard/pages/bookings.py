"""The public booking pages: location -> concern -> day -> slot -> booked; a booking's own
page with its code, QR code and calendar file; moving and cancelling with the code.

Plain forms that work without JavaScript. Nothing here needs a session or an account:
the code is what proves a booking is yours. A form carries a one-time key that becomes
the booking's Idempotency-Key, so a double click books one place, not two; the key is
bound to the browser that sent it by the one cookie of the public pages, a random id set
where the booking form is shown (:mod:`waitboard.pages.booking_cookie`), so that the same form
sent from another browser books nothing and shows no code. Errors come back as the same
page with a message next to the field (status 409 or 422), and nothing is booked.
"""

from __future__ import annotations

import contextlib
import secrets
from datetime import UTC, date, datetime, timedelta
from typing import Any

import icalendar
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from waitboard.context import AppContext, context
from waitboard.core import appointments
from waitboard.core.errors import (
    BookingNotFound,
    ErrorKind,
    IdempotencyKeyInUse,
    SlotFull,
    Unprocessable,
    WaitboardError,
)
from waitboard.core.office import Location, Queue
from waitboard.http_status import status_of
from waitboard.i18n import Translator
from waitboard.pages import booking_cookie, forms, qr, sessions
from waitboard.pages.render import (
    language,
    language_of,
    link_for,
    public_base,
    render,
    see_other,
)
from waitboard.services import bookings


def _to_booking(request: Request, code: str) -> Response:
    """To the booking's own page, in the page's language."""
    return see_other(link_for(request, f"/appointments/{appointments.format_code(code)}"))


async def concerns(request: Request) -> Response:
    ctx = context(request)
    loc = ctx.location(request.path_params["location"])
    offered = [(q, await bookings.free_days(ctx, loc, q)) for q in loc.appointment_queues]
    return render(request, "appointments.html", location=loc, offered=offered)


async def _slot_page(
    request: Request,
    ctx: AppContext,
    loc: Location,
    q: Queue,
    *,
    status: int = 200,
    error: str | None = None,
    field: str | None = None,
    suggestions: list[str] | None = None,
    chosen: str = "",
    contact: str = "",
    moving: dict[str, Any] | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    # The day shown: the address's, else (a form sent back with an error) the one the form
    # was for, so that the person is not sent back to today's slots; when moving, the
    # booked day (one moves an appointment to a time near it, mostly) if it can still be
    # booked, else the first bookable day.
    form = form or {}
    wanted = request.query_params.get("date") or form.get("date") or form.get("start", "")[:10]
    try:
        day = bookings.parse_day(wanted or None, ctx, loc, q)
    except Unprocessable:
        day = None
    if moving and not wanted:
        with contextlib.suppress(Unprocessable):
            day = bookings.parse_day(moving["start"][:10], ctx, loc, q)
    days = await bookings.free_days(ctx, loc, q)
    slots = await bookings.day_slots(ctx, loc, q, day) if day else []
    t, today = Translator(language(request)), ctx.clock().astimezone(ctx.office.tz).date()
    page = render(
        request,
        "book.html",
        status=status,
        location=loc,
        queue=q,
        days=days,
        day=day,
        slots=slots,
        error=error,
        field=field,
        chosen=chosen,
        contact=contact,
        reminders=ctx.reminders is not None,  # (the contact's hint says what it is for)
        suggestions=suggestions or [],
        moving=moving,
        key=secrets.token_urlsafe(12),
        plan=bookings.plan(q),
        day_label=lambda d: day_label(t, d, today),
    )
    # (Moving needs no key of its own: the code in the address is what it acts on.)
    return page if moving else booking_cookie.remember(request, page, loc.id)


async def slots_page(request: Request) -> Response:
    ctx = context(request)
    loc = ctx.location(request.path_params["location"])
    q = _concern(loc, request.path_params["queue"])
    if q is None:
        return _no_such_concern(request, loc)
    return await _slot_page(request, ctx, loc, q)


def _concern(loc: Location, queue_id: str) -> Queue | None:
    """The appointment queue the address names, if this location has it."""
    q = loc.queue_by_id.get(queue_id)
    return q if q is not None and q.appointments is not None else None


def _no_such_concern(request: Request, loc: Location) -> Response:
    """404 for a concern that is not offered here (unknown, or served without
    appointments), with the way to the ones that are."""
    t = Translator(language(request))
    return render(
        request,
        "error.html",
        status=404,
        message=t(
            "Am Standort {location} gibt es dieses Anliegen nicht, oder es wird dort ohne Termin "
            "bedient. Bitte wählen Sie eines der Anliegen, für die Sie hier einen Termin buchen "
            "können.",
            location=t.name(loc),
        ),
        back=f"/locations/{loc.id}/appointments",
        back_label=t("Zu den Anliegen mit Termin"),
        retry=False,
    )


async def book(request: Request) -> Response:
    ctx = context(request)
    loc = ctx.location(request.path_params["location"])
    q = _concern(loc, request.path_params["queue"])
    if q is None:
        return _no_such_concern(request, loc)
    form = await forms.read_form(request)
    t = Translator(language(request))
    start, contact = form.get("start", ""), form.get("contact", "")
    try:
        if not start:
            raise _NoSlotChosen
        booked = await bookings.book(
            ctx,
            loc,
            q.id,
            start,
            contact,
            form.get("key") or None,
            client=booking_cookie.of_page(request),
            lang=language(request),
        )
    except (_NoSlotChosen, IdempotencyKeyInUse, SlotFull, Unprocessable) as e:
        refused = _refused(
            t, e, start, field=e.extra.get("field") if isinstance(e, Unprocessable) else "start"
        )
        return await _slot_page(request, ctx, loc, q, form=form, contact=contact, **refused)
    shown = appointments.format_code(booked.code)
    return see_other(link_for(request, f"/appointments/{shown}?new=1"))


async def lookup(request: Request) -> Response:
    """``/appointments``: type the code to see, move or cancel a booking."""
    text = request.query_params.get("code")
    if text is None:
        return render(request, "appointment_lookup.html", error=None, code="")
    code = appointments.parse_code(text)
    t = Translator(language(request))
    if code is None:
        return render(
            request,
            "appointment_lookup.html",
            status=422,
            code=text[:40],
            error=t(
                "Ein Buchungscode besteht aus acht Zeichen (Buchstaben und Ziffern), zum "
                "Beispiel K7QM-4XPA."
            ),
        )
    return _to_booking(request, code)


async def appointment_page(request: Request) -> Response:
    ctx = context(request)
    t = Translator(language(request))
    try:
        loc, q, code, booking, ticket = await bookings.find(ctx, request.path_params["code"])
    except (BookingNotFound, Unprocessable):
        return render(
            request,
            "appointment_lookup.html",
            status=404,
            code=request.path_params["code"][:40],
            error=t(
                "Zu diesem Code gibt es keinen Termin. Bitte prüfen Sie den Code auf Ihrer "
                "Bestätigung."
            ),
        )
    view = bookings.view(ctx, loc, q, code, booking, ticket)
    base = public_base(request)
    lang = language_of(request, booking.lang)
    t = Translator(lang)
    return render(
        request,
        "appointment.html",
        lang=lang,
        location=loc,
        queue=q,
        booking=view,
        fresh=request.query_params.get("new") == "1",
        plan=bookings.plan(q),
        qr=qr.svg(base + view["url"], t("QR-Code zum Einchecken")),
    )


async def calendar_file(request: Request) -> Response:
    ctx = context(request)
    loc, q, code, booking, _ = await bookings.find(ctx, request.path_params["code"])
    t = Translator(language_of(request, booking.lang))
    view = bookings.view(ctx, loc, q, code, booking)
    base = public_base(request)
    cal = icalendar.Calendar()
    cal.add("prodid", "-//waitboard//appointments//DE")
    cal.add("version", "2.0")
    event = icalendar.Event()
    event.add("uid", f"{appointments.code_hash(code)[:32]}@waitboard")
    event.add("dtstamp", ctx.clock())
    # In UTC: every calendar reads it the same, without a time zone definition.
    event.add("dtstart", datetime.fromisoformat(view["start"]).astimezone(UTC))
    event.add("dtend", datetime.fromisoformat(view["end"]).astimezone(UTC))
    event.add("summary", t("Termin: {queue} – {location}", queue=t.name(q), location=t.name(loc)))
    event.add(
        "description",
        t(
            "Buchungscode {code}. Einchecken am Terminal mit diesem Code. Verschieben oder "
            "absagen: {url}",
            code=view["code"],
            url=base + view["url"],
        ),
    )
    event.add("location", t.name(loc))
    event.add("status", "CANCELLED" if booking.status == "cancelled" else "CONFIRMED")
    cal.add_component(event)
    return Response(
        cal.to_ical(),
        media_type="text/calendar; charset=utf-8",
        headers={
            "Cache-Control": "no-store",
            "Content-Disposition": f'attachment; filename="termin-{view["code"]}.ics"',
        },
    )


async def move_page(request: Request) -> Response:
    ctx = context(request)
    loc, q, code, booking, _ = await bookings.find(ctx, request.path_params["code"])
    if booking.status != "booked":  # cancelled, or checked in: its own page says so
        return _to_booking(request, code)
    return await _slot_page(request, ctx, loc, q, moving=bookings.view(ctx, loc, q, code, booking))


async def move(request: Request) -> Response:
    ctx = context(request)
    loc, q, code, booking, _ = await bookings.find(ctx, request.path_params["code"])
    form = await forms.read_form(request)
    if booking.status != "booked":  # cancelled or checked in meanwhile (another tab, say)
        return _to_booking(request, code)
    t = Translator(language(request))
    moving = bookings.view(ctx, loc, q, code, booking)
    actor = bookings.staff_actor(await sessions.current_actor(request))
    start = form.get("start", "")
    try:
        if not start:
            raise _NoSlotChosen
        await bookings.move(ctx, code, start, actor)
    except WaitboardError as e:
        if e.kind not in (ErrorKind.CONFLICT, ErrorKind.INVALID):
            raise
        refused = _refused(t, e, start, field="start")
        return await _slot_page(request, ctx, loc, q, form=form, moving=moving, **refused)
    return see_other(link_for(request, f"/appointments/{moving['code']}?moved=1"))


async def cancel(request: Request) -> Response:
    ctx = context(request)
    await forms.read_form(request)
    actor = bookings.staff_actor(await sessions.current_actor(request))
    try:
        cancelled = await bookings.cancel(ctx, request.path_params["code"], actor)
    except WaitboardError as e:
        if e.kind is not ErrorKind.CONFLICT:
            raise
        return await appointment_page(request)
    return _to_booking(request, cancelled.code)


class _NoSlotChosen(Unprocessable):
    """The form came without a slot: the page asks to pick one."""

    def __init__(self) -> None:
        super().__init__("Pick a time.", field="start")


def _refused(t: Translator, e: WaitboardError, start: str, *, field: str | None) -> dict[str, Any]:
    """How the slot page answers a booking or a move that was refused: the status, the
    field and the message; a full slot offers the next free ones, and a refusal of what
    was chosen keeps the choice in the form."""
    if isinstance(e, _NoSlotChosen):
        return {
            "status": status_of(e),
            "field": "start",
            "error": t("Bitte wählen Sie eine Uhrzeit."),
        }
    if isinstance(e, SlotFull):
        return {
            "status": status_of(e),
            "field": "start",
            "error": t("Diese Zeit ist inzwischen ausgebucht. Bitte wählen Sie eine andere."),
            "suggestions": list(e.extra.get("next_free", [])),
        }
    if isinstance(e, IdempotencyKeyInUse):
        # This form was sent from another browser first: that booking is theirs. The
        # page again, with a new key, books this person's own with one more click.
        return {
            "status": status_of(e),
            "error": t(
                "Dieses Formular wurde schon in einem anderen Browser oder auf einem anderen "
                "Gerät abgeschickt. Hier wurde nichts gebucht. Bitte buchen Sie Ihren Termin "
                "noch einmal."
            ),
            "chosen": start,
        }
    return {"status": status_of(e), "field": field, "error": _form_error(t, e), "chosen": start}


def _form_error(t: Translator, e: WaitboardError) -> str:
    """A refusal in the page's language, for the field it is about."""
    if isinstance(e, Unprocessable):
        return (
            t("Bitte eine E-Mail-Adresse oder Telefonnummer angeben – oder das Feld leer lassen.")
            if e.extra.get("field") == "contact"
            else t(
                "Diese Uhrzeit kann nicht (mehr) gebucht werden. Bitte wählen Sie eine der "
                "angebotenen Zeiten."
            )
        )
    return t.error(e)


def day_label(t: Translator, day: date, today: date) -> str:
    """ "heute", "morgen", or "Do 03.12." """
    if day == today:
        return t("heute")
    if day == today + timedelta(days=1):
        return t("morgen")
    return f"{t.weekday(day.weekday())} {t.day_month(day)}"


def routes() -> list[Route]:
    return [
        Route("/locations/{location}/appointments", concerns),
        Route("/locations/{location}/appointments/{queue}", slots_page, methods=["GET"]),
        Route("/locations/{location}/appointments/{queue}", book, methods=["POST"]),
        Route("/appointments", lookup),
        # The calendar file first: "{code}" alone would also match "K7QM-4XPA.ics".
        Route("/appointments/{code}.ics", calendar_file),
        Route("/appointments/{code}", appointment_page),
        Route("/appointments/{code}/move", move_page, methods=["GET"]),
        Route("/appointments/{code}/move", move, methods=["POST"]),
        Route("/appointments/{code}/cancel", cancel, methods=["POST"]),
    ]
