"""Staff pages: login, reception, counters, printed tickets.

Forms post, the server acts through :mod:`waitboard.services.tickets` (the same as the API) and
redirects back (post/redirect/get), with a message on the next page. Every form carries
the session's CSRF token; forms that create something also carry a one-time key that
becomes the Idempotency-Key, so a double click issues one ticket, not two.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta, tzinfo
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from waitboard.context import AppContext, context
from waitboard.core import appointments, daystats, snapshot
from waitboard.core.clock import iso, to_ms
from waitboard.core.errors import NotFound, Unauthorized, WaitboardError
from waitboard.core.office import Device, Location
from waitboard.core.outcomes import OutcomeKind
from waitboard.core.state import Booking
from waitboard.i18n import Translator
from waitboard.pages import forms, qr, sessions
from waitboard.pages.render import language, public_base, render, with_lang
from waitboard.services import tickets as commands
from waitboard.services.auth import COUNTER_ROLES, ISSUE_ROLES, STATS_ROLES

RECEPTION_ROLES = ("reception", "admin")
APPOINTMENT_LIST_ROLES = ("reception", "counter", "admin")
#: Who sees a booking's contact on that list: reception calls people about a cancelled
#: day; a counter serves the person in front of it and needs no phone number or e-mail.
CONTACT_ROLES = ("reception", "admin")


def _redirect(path: str) -> Response:
    return RedirectResponse(path, status_code=303, headers={"Cache-Control": "no-store"})


def home_of(device: Device) -> str:
    """Where a device goes after logging in."""
    loc = device.location
    if device.role == "caseworker":
        return "/staff/applications"
    if device.role == "admin" or loc is None:
        return "/staff"
    return {
        "reception": f"/staff/{loc}/reception",
        "counter": f"/staff/{loc}/counters/{device.counters[0]}" if device.counters else "/",
        "terminal": f"/terminal/{loc}",
        "display": f"/screens/{loc}",
    }.get(device.role, "/")


def _safe_next(value: str | None) -> str | None:
    """Only paths of this site (no //host, no scheme): no open redirect."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return None


# --- login ----------------------------------------------------------------------------------


async def login_page(request: Request) -> Response:
    return render(
        request,
        "staff/login.html",
        staff=True,
        device=None,
        location=None,
        next=_safe_next(request.query_params.get("next")) or "",
        failed=False,
    )


async def login(request: Request) -> Response:
    ctx = context(request)
    form = await forms.read_form(request)
    sessions.check_csrf(request, form)
    try:
        device = ctx.devices.by_token(form.get("token", "").strip())
    except Unauthorized:
        return render(
            request,
            "staff/login.html",
            status=401,
            staff=True,
            device=None,
            location=None,
            next=_safe_next(form.get("next")) or "",
            failed=True,
        )
    sessions.login(request, device)
    target = _safe_next(form.get("next")) or home_of(device)
    return _redirect(with_lang(target, language(request)))


async def logout(request: Request) -> Response:
    form = await forms.read_form(request)
    sessions.check_csrf(request, form)
    await sessions.logout(request)
    return _redirect(with_lang("/staff/login", language(request)))


async def index(request: Request) -> Response:
    device = await sessions.current_device(request)
    if device is None:
        return _redirect(with_lang("/staff/login", language(request)))
    if device.role != "admin":
        return _redirect(with_lang(home_of(device), language(request)))
    ctx = context(request)
    return render(
        request,
        "staff/index.html",
        staff=True,
        device=device,
        location=None,
        locations=ctx.office.locations,
    )


# --- reception ------------------------------------------------------------------------------


async def _reception_values(ctx: AppContext, loc: Location) -> dict[str, Any]:
    snap = await ctx.hub.snapshot(loc.id)
    waiting = await ctx.store.waiting(loc.id)
    tz = ctx.office.tz
    return {
        "snap": snap,
        "waiting": {
            q: [{"id": w.id, "number": w.number, "queued_at": iso(w.queued_at, tz)} for w in rows]
            for q, rows in waiting.items()
        },
    }


async def reception(request: Request) -> Response:
    ctx = context(request)
    loc = ctx.location(request.path_params["location"])
    device = await sessions.require_staff(request, RECEPTION_ROLES, location=loc.id)
    return render(
        request,
        "staff/reception.html",
        staff=True,
        device=device,
        location=loc,
        keys={q.id: secrets.token_urlsafe(12) for q in loc.queues},
        ws=f"/ws/locations/{loc.id}",
        **await _reception_values(ctx, loc),
    )


async def reception_live(request: Request) -> Response:
    ctx = context(request)
    loc = ctx.location(request.path_params["location"])
    device = await sessions.require_staff(request, RECEPTION_ROLES, location=loc.id)
    return render(
        request,
        "staff/_reception_live.html",
        staff=True,
        device=device,
        location=loc,
        **await _reception_values(ctx, loc),
    )


async def reception_issue(request: Request) -> Response:
    ctx = context(request)
    loc = ctx.location(request.path_params["location"])
    device = await sessions.require_staff(request, RECEPTION_ROLES, location=loc.id)
    form = await forms.read_form(request)
    sessions.check_csrf(request, form)
    idem = forms.form_idempotency(device, loc.id, request.url.path, form)
    back = with_lang(f"/staff/{loc.id}/reception", language(request))
    try:
        outcome = await commands.issue(ctx, device, loc, form.get("queue", ""), idem)
    except WaitboardError as e:
        sessions.flash(request, "error", Translator(language(request)).error(e))
        return _redirect(back)
    assert outcome.ticket is not None
    t = Translator(language(request))
    sessions.flash(request, "ok", t("staff.issued", number=outcome.ticket.number))
    return _redirect(
        with_lang(f"/staff/{loc.id}/tickets/{outcome.ticket.id}/print", language(request))
    )


async def print_ticket(request: Request) -> Response:
    ctx = context(request)
    loc = ctx.location(request.path_params["location"])
    device = await sessions.require_staff(request, ISSUE_ROLES, location=loc.id)
    values = await printed_ticket_values(request, ctx, loc, request.path_params["ticket_id"])
    sessions.take_flash(request)  # the printed ticket itself says it
    return render(
        request,
        "print_ticket.html",
        staff=True,
        device=device,
        location=loc,
        back=with_lang(f"/staff/{loc.id}/reception", language(request)),
        **values,
    )


async def printed_ticket_values(
    request: Request, ctx: AppContext, loc: Location, ticket_id: str
) -> dict[str, Any]:
    if commands.location_of(ctx, ticket_id).id != loc.id:
        raise NotFound(f"There is no ticket '{ticket_id[:80]}' at {loc.id}.")
    record, position, state = await ctx.store.ticket(ticket_id)
    ticket = snapshot.ticket(ctx.office, loc, record, position, state, ctx.clock())
    # The code leads to the ticket page in the language the ticket was printed in.
    url = public_base(request) + with_lang(ticket["url"], language(request))
    queue = loc.queue_by_id.get(record.queue) or {"name": record.queue}
    return {
        "ticket": ticket,
        "queue": queue,
        # (Named as an image; the caption under it says what to do with it.)
        "qr": qr.svg(url, Translator(language(request))("print.qr_title")),
    }


# --- counters -------------------------------------------------------------------------------


async def _counter_values(ctx: AppContext, loc: Location, counter_id: str) -> dict[str, Any]:
    snap = await ctx.hub.snapshot(loc.id)
    state = await ctx.store.location_state(loc.id)  # this counter's own state, exactly
    view = snapshot.counter(ctx.office, loc, counter_id, state)
    return {
        "snap": snap,
        "counter": loc.counter_by_id[counter_id],
        "state": view,
        "current": view["ticket"],
    }


async def counter_page(request: Request) -> Response:
    ctx = context(request)
    loc = ctx.location(request.path_params["location"])
    counter = commands.counter_of(loc, request.path_params["counter"])
    device = await sessions.require_staff(request, COUNTER_ROLES, location=loc.id, counter=counter)
    return render(
        request,
        "staff/counter.html",
        staff=True,
        device=device,
        location=loc,
        ws=f"/ws/locations/{loc.id}",
        **await _counter_values(ctx, loc, counter),
    )


async def counter_live(request: Request) -> Response:
    ctx = context(request)
    loc = ctx.location(request.path_params["location"])
    counter = commands.counter_of(loc, request.path_params["counter"])
    device = await sessions.require_staff(request, COUNTER_ROLES, location=loc.id, counter=counter)
    return render(
        request,
        "staff/_counter_live.html",
        staff=True,
        device=device,
        location=loc,
        **await _counter_values(ctx, loc, counter),
    )


async def counter_action(request: Request) -> Response:
    ctx = context(request)
    loc = ctx.location(request.path_params["location"])
    counter = commands.counter_of(loc, request.path_params["counter"])
    device = await sessions.require_staff(request, COUNTER_ROLES, location=loc.id, counter=counter)
    form = await forms.read_form(request)
    sessions.check_csrf(request, form)
    idem = forms.form_idempotency(device, loc.id, request.url.path, form)
    kind = request.path_params["action"]
    t = Translator(language(request))
    try:
        if kind not in commands.COUNTER_COMMANDS:
            raise NotFound(f"There is no counter action '{kind[:20]}'.")
        outcome = await commands.counter_command(ctx, loc, counter, kind, idem)
        if kind == "call-next":
            sessions.flash(
                request,
                "ok",
                t("staff.called", number=outcome.ticket.number)
                if outcome.ticket
                else t("staff.nobody_waiting"),
            )
    except WaitboardError as e:
        sessions.flash(request, "error", t.error(e))
    return _redirect(with_lang(f"/staff/{loc.id}/counters/{counter}", language(request)))


async def _desk(request: Request, loc: Location) -> tuple[Device, str]:
    """The logged-in device of the desk a form was sent from - a counter's page, or else
    the reception's - and that page's address to go back to."""
    counter = request.path_params.get("counter")
    if counter is None:
        device = await sessions.require_staff(request, RECEPTION_ROLES, location=loc.id)
        return device, f"/staff/{loc.id}/reception"
    counter = commands.counter_of(loc, counter)
    device = await sessions.require_staff(request, COUNTER_ROLES, location=loc.id, counter=counter)
    return device, f"/staff/{loc.id}/counters/{counter}"


async def ticket_action(request: Request) -> Response:
    """A ticket command from the reception's list or from a counter's page."""
    ctx = context(request)
    loc = ctx.location(request.path_params["location"])
    name = request.path_params["action"]
    device, back = await _desk(request, loc)
    form = await forms.read_form(request)
    sessions.check_csrf(request, form)
    idem = forms.form_idempotency(device, loc.id, request.url.path, form)
    t = Translator(language(request))
    ticket_id = request.path_params["ticket_id"]
    try:
        if name not in commands.TICKET_COMMANDS:
            raise NotFound(f"There is no ticket action '{name[:20]}'.")
        if commands.authorize_ticket(ctx, device, ticket_id, name).id != loc.id:
            raise NotFound(f"There is no ticket '{ticket_id[:80]}' at {loc.id}.")
        outcome = await commands.ticket_command(
            ctx, device, loc, ticket_id, name, form.get("queue"), idem
        )
        # (Says what happened to which ticket: a bare "Erledigt." after a recall read as
        # if the ticket were finished.)
        number = outcome.ticket.number if outcome.ticket else ""
        sessions.flash(request, "ok", t(f"staff.done.{name}", number=number))
    except WaitboardError as e:
        sessions.flash(request, "error", t.error(e))
    return _redirect(with_lang(back, language(request)))


# --- appointments ---------------------------------------------------------------------------


async def check_in(request: Request) -> Response:
    """Reception or a counter checks in someone with a booking code (typed or scanned)."""
    ctx = context(request)
    loc = ctx.location(request.path_params["location"])
    device, back = await _desk(request, loc)
    form = await forms.read_form(request)
    sessions.check_csrf(request, form)
    idem = forms.form_idempotency(device, loc.id, request.url.path, form)
    t = Translator(language(request))
    try:
        outcome = await commands.check_in(ctx, device, loc, form.get("code", ""), idem)
    except WaitboardError as e:
        sessions.flash(request, "error", t.error(e), field="code", value=form.get("code", ""))
        return _redirect(with_lang(back, language(request)))
    ticket = outcome.ticket
    assert ticket is not None
    if outcome.kind is OutcomeKind.DONE and not outcome.replayed:
        sessions.flash(request, "ok", t("staff.already_checked_in", number=ticket.number))
    elif ticket.late:
        sessions.flash(request, "ok", t("staff.checked_in_late", number=ticket.number))
    else:
        sessions.flash(request, "ok", t("staff.checked_in", number=ticket.number))
    return _redirect(with_lang(back, language(request)))


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


# --- statistics -----------------------------------------------------------------------------


async def _day_stats(
    request: Request,
) -> tuple[Device, Location, dict[str, Any], str | None]:
    """The figures of the asked day (today when none or none that is a day is asked for:
    then also what was asked, for the page to say)."""
    ctx = context(request)
    loc = ctx.location(request.path_params["location"])
    device = await sessions.require_staff(request, STATS_ROLES, location=loc.id)
    today = ctx.clock().astimezone(ctx.office.tz).date()
    asked, bad_day = request.query_params.get("date"), None
    try:
        day = daystats.parse_day(asked, today)
    except ValueError:
        day, bad_day = today.isoformat(), (asked or "")[:20]
    counts, waits = await ctx.store.day_figures(loc.id, day)
    return device, loc, daystats.day(loc, day, counts, waits), bad_day


async def stats_page(request: Request) -> Response:
    device, loc, stats, bad_day = await _day_stats(request)
    return render(
        request,
        "staff/stats.html",
        staff=True,
        device=device,
        location=loc,
        stats=stats,
        bad_day=bad_day,
        chart=_chart(stats["arrivals_per_hour"]),
    )


async def stats_csv(request: Request) -> Response:
    _, loc, stats, _ = await _day_stats(request)
    return Response(
        daystats.as_csv(stats),
        media_type="text/csv; charset=utf-8",
        headers={
            "Cache-Control": "no-store",
            "Content-Disposition": f'attachment; filename="waitboard-{loc.id}-{stats["date"]}.csv"',
        },
    )


def _chart(hours: list[dict[str, Any]]) -> dict[str, Any]:
    """Bars for arrivals per hour, laid out here so the template only draws them."""
    peak = max((h["arrivals"] for h in hours), default=0) or 1
    width, height, gap = 44, 160, 8
    bars = [
        {
            "x": i * (width + gap),
            "w": width,
            "h": round(h["arrivals"] / peak * height),
            "y": height - round(h["arrivals"] / peak * height),
            **h,
        }
        for i, h in enumerate(hours)
    ]
    return {"bars": bars, "width": max(1, len(bars) * (width + gap)), "height": height}


def login_redirect(request: Request) -> Response:
    """Where LoginRequired sends a browser: the login, then back here."""
    target = request.url.path if request.method == "GET" else "/staff"
    return _redirect(with_lang(f"/staff/login?next={quote(target)}", language(request)))


def routes() -> list[Route]:
    loc = "/staff/{location}"
    return [
        Route("/staff", index),
        Route("/staff/login", login_page, methods=["GET"]),
        Route("/staff/login", login, methods=["POST"]),
        Route("/staff/logout", logout, methods=["POST"]),
        Route(f"{loc}/reception", reception),
        Route(f"{loc}/reception/live", reception_live),
        Route(f"{loc}/reception/tickets", reception_issue, methods=["POST"]),
        Route(f"{loc}/check-in", check_in, methods=["POST"]),
        Route(f"{loc}/appointments", appointments_page),
        Route(f"{loc}/stats", stats_page),
        Route(f"{loc}/stats.csv", stats_csv),
        Route(f"{loc}/tickets/{{ticket_id}}/print", print_ticket),
        Route(f"{loc}/tickets/{{ticket_id}}/{{action}}", ticket_action, methods=["POST"]),
        Route(f"{loc}/counters/{{counter}}", counter_page),
        Route(f"{loc}/counters/{{counter}}/live", counter_live),
        Route(
            f"{loc}/counters/{{counter}}/tickets/{{ticket_id}}/{{action}}",
            ticket_action,
            methods=["POST"],
        ),
        Route(f"{loc}/counters/{{counter}}/check-in", check_in, methods=["POST"]),
        Route(f"{loc}/counters/{{counter}}/{{action}}", counter_action, methods=["POST"]),
    ]
