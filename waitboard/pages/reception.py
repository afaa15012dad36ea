"""The reception desk: the live list of who waits, tickets issued for people without
one (printed at the desk), and the printed ticket itself."""

from __future__ import annotations

import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from waitboard.context import AppContext, context
from waitboard.core.clock import iso
from waitboard.core.errors import WaitboardError
from waitboard.core.office import Location
from waitboard.i18n import Translator
from waitboard.pages import forms, sessions
from waitboard.pages.printed import printed_ticket_values
from waitboard.pages.render import language, link_for, render, see_other
from waitboard.services import service_levels
from waitboard.services import tickets as commands
from waitboard.services.auth import ISSUE_ROLES, RECEPTION_ROLES


async def _reception_values(ctx: AppContext, loc: Location) -> dict[str, Any]:
    snap = await ctx.hub.snapshot(loc.id)
    levels = await service_levels.standings(ctx.store, ctx.office, loc)
    waiting = await ctx.store.waiting(loc.id)
    tz = ctx.office.tz
    return {
        "snap": snap,
        "levels": levels,
        "waiting": {
            q: [{"id": w.id, "number": w.number, "queued_at": iso(w.queued_at, tz)} for w in rows]
            for q, rows in waiting.items()
        },
    }


async def _render(request: Request, template: str, **extra: Any) -> Response:
    """The reception's page, or (every time the location changes) its live part."""
    ctx = context(request)
    loc = ctx.location(request.path_params["location"])
    device = await sessions.require_staff(request, RECEPTION_ROLES, location=loc.id)
    return render(
        request,
        template,
        staff=True,
        device=device,
        location=loc,
        **extra,
        **await _reception_values(ctx, loc),
    )


async def reception(request: Request) -> Response:
    ctx = context(request)
    loc = ctx.location(request.path_params["location"])
    return await _render(
        request,
        "staff/reception.html",
        # One-time keys of the issue buttons: a double click issues one ticket.
        keys={q.id: secrets.token_urlsafe(12) for q in loc.queues},
        ws=f"/ws/locations/{loc.id}",
    )


async def reception_live(request: Request) -> Response:
    return await _render(request, "staff/_reception_live.html")


async def reception_issue(request: Request) -> Response:
    ctx = context(request)
    loc = ctx.location(request.path_params["location"])
    device = await sessions.require_staff(request, RECEPTION_ROLES, location=loc.id)
    form = await forms.read_form(request)
    sessions.check_csrf(request, form)
    idem = forms.form_idempotency(device, loc.id, request.url.path, form)
    back = link_for(request, f"/staff/{loc.id}/reception")
    try:
        outcome = await commands.issue(ctx, device, loc, form.get("queue", ""), idem)
    except WaitboardError as e:
        sessions.flash(request, "error", Translator(language(request)).error(e))
        return see_other(back)
    assert outcome.ticket is not None
    t = Translator(language(request))
    sessions.flash(request, "ok", t("Ticket {number} gezogen.", number=outcome.ticket.number))
    return see_other(link_for(request, f"/staff/{loc.id}/tickets/{outcome.ticket.id}/print"))


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
        back=link_for(request, f"/staff/{loc.id}/reception"),
        **values,
    )
