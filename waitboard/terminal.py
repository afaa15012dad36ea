"""The self-service ticket terminal: a touchscreen kiosk logged in with a terminal token.

Big buttons per queue; a press issues a ticket (the button's one-time key is the
Idempotency-Key: a double tap gives one ticket) and shows it for printing, then the
screen returns to the start by itself - with or without JavaScript.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import NamedTuple

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from waitboard import bodies, commands, sessions
from waitboard.auth import CHECK_IN_ROLES, ISSUE_ROLES
from waitboard.config import Device, Location
from waitboard.context import AppContext, context
from waitboard.errors import WaitboardError
from waitboard.i18n import Translator
from waitboard.render import language, render, with_lang
from waitboard.staff import printed_ticket_values
from waitboard.store import Idempotency

#: How long a terminal shows a fresh ticket; later the page is gone (back to the start).
SHOW_TICKET_FOR = timedelta(minutes=2)


async def start(request: Request) -> Response:
    ctx = context(request)
    loc = ctx.location(request.path_params["location"])
    device = await sessions.require_staff(request, ISSUE_ROLES, location=loc.id)
    return render(
        request,
        "terminal.html",
        staff=True,
        device=device,
        location=loc,
        snap=await ctx.hub.snapshot(loc.id),
        ws=f"/ws/locations/{loc.id}",
        keys={q.id: secrets.token_urlsafe(12) for q in loc.queues},
    )


class _Press(NamedTuple):
    """A form sent from the terminal, checked: where, by which terminal, what, in which
    language, and its one-time key as Idempotency-Key."""

    ctx: AppContext
    loc: Location
    device: Device
    form: dict[str, str]
    idem: Idempotency | None
    lang: str


async def _press(request: Request, roles: tuple[str, ...]) -> _Press:
    ctx = context(request)
    loc = ctx.location(request.path_params["location"])
    device = await sessions.require_staff(request, roles, location=loc.id)
    form = await bodies.read_form(request)
    sessions.check_csrf(request, form)
    return _Press(
        ctx,
        loc,
        device,
        form,
        bodies.form_idempotency(device, loc.id, request.url.path, form),
        language(request),
    )


async def issue(request: Request) -> Response:
    ctx, loc, device, form, idem, lang = await _press(request, ISSUE_ROLES)
    try:
        outcome = await commands.issue(ctx, device, loc, form.get("queue", ""), idem)
    except WaitboardError as e:
        sessions.flash(request, "error", Translator(lang).error(e))
        return RedirectResponse(with_lang(f"/terminal/{loc.id}", lang), status_code=303)
    assert outcome.ticket is not None
    return RedirectResponse(
        with_lang(f"/terminal/{loc.id}/tickets/{outcome.ticket.id}", lang), status_code=303
    )


async def check_in(request: Request) -> Response:
    """Someone with a booking types or scans their code: their ticket, for printing."""
    ctx, loc, device, form, idem, lang = await _press(request, CHECK_IN_ROLES)
    t = Translator(lang)
    start_page = with_lang(f"/terminal/{loc.id}", lang)
    try:
        outcome = await commands.check_in(ctx, device, loc, form.get("code", ""), idem)
    except WaitboardError as e:
        sessions.flash(request, "error", t.error(e), field="code", value=form.get("code", ""))
        return RedirectResponse(start_page, status_code=303)
    assert outcome.ticket is not None
    if outcome.status == 200 and not outcome.replayed:
        sessions.flash(request, "ok", t("staff.already_checked_in", number=outcome.ticket.number))
        return RedirectResponse(start_page, status_code=303)
    return RedirectResponse(
        with_lang(f"/terminal/{loc.id}/tickets/{outcome.ticket.id}", lang), status_code=303
    )


async def show_ticket(request: Request) -> Response:
    ctx = context(request)
    loc = ctx.location(request.path_params["location"])
    device = await sessions.require_staff(request, ISSUE_ROLES, location=loc.id)
    values = await printed_ticket_values(request, ctx, loc, request.path_params["ticket_id"])
    back = f"/terminal/{loc.id}"  # in German again: the next person is someone else
    sessions.take_flash(request)  # the ticket itself says it
    issued = datetime.fromisoformat(values["ticket"]["issued_at"])
    if ctx.clock() - issued > SHOW_TICKET_FOR:
        # The next person must not find the previous one's ticket in the history.
        return RedirectResponse(back, status_code=303)
    return render(
        request,
        "terminal_ticket.html",
        staff=True,
        device=device,
        location=loc,
        back=back,
        **values,
    )


def routes() -> list[Route]:
    return [
        Route("/terminal/{location}", start),
        Route("/terminal/{location}/tickets", issue, methods=["POST"]),
        Route("/terminal/{location}/check-in", check_in, methods=["POST"]),
        Route("/terminal/{location}/tickets/{ticket_id}", show_ticket),
    ]
