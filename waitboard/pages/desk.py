"""What either desk - the reception or a counter - does to one ticket: the ticket commands
from its list, and checking in the holder of a booking."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from waitboard.context import context
from waitboard.core.errors import NotFound, WaitboardError
from waitboard.core.office import Location
from waitboard.core.outcomes import OutcomeKind
from waitboard.core.staff import Actor
from waitboard.i18n import Translator
from waitboard.labels import LABELS
from waitboard.pages import forms, sessions
from waitboard.pages.render import language, link_for, see_other
from waitboard.services import tickets as commands
from waitboard.services.auth import COUNTER_ROLES, RECEPTION_ROLES


async def desk_of(request: Request, loc: Location) -> tuple[Actor, str]:
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
    device, back = await desk_of(request, loc)
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
        sessions.flash(request, "ok", t.message(LABELS["staff.done"][name], number=number))
    except WaitboardError as e:
        sessions.flash(request, "error", t.error(e))
    return see_other(link_for(request, back))


async def check_in(request: Request) -> Response:
    """Reception or a counter checks in someone with a booking code (typed or scanned)."""
    ctx = context(request)
    loc = ctx.location(request.path_params["location"])
    device, back = await desk_of(request, loc)
    form = await forms.read_form(request)
    sessions.check_csrf(request, form)
    idem = forms.form_idempotency(device, loc.id, request.url.path, form)
    t = Translator(language(request))
    try:
        outcome = await commands.check_in(ctx, device, loc, form.get("code", ""), idem)
    except WaitboardError as e:
        sessions.flash(request, "error", t.error(e), field="code", value=form.get("code", ""))
        return see_other(link_for(request, back))
    ticket = outcome.ticket
    assert ticket is not None
    if outcome.kind is OutcomeKind.DONE and not outcome.replayed:
        sessions.flash(
            request, "ok", t("Schon eingecheckt: Wartenummer {number}.", number=ticket.number)
        )
    elif ticket.late:
        sessions.flash(
            request,
            "ok",
            t("Zu spät für den Termin: Wartenummer {number} ohne Termin.", number=ticket.number),
        )
    else:
        sessions.flash(request, "ok", t("Eingecheckt: Wartenummer {number}.", number=ticket.number))
    return see_other(link_for(request, back))
