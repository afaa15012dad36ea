"""A counter's page: the ticket being served, the counter's commands (call the next, pause,
close) and the live state of the location beside them."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from waitboard.context import AppContext, context
from waitboard.core import snapshot
from waitboard.core.errors import NotFound, Unprocessable, WaitboardError
from waitboard.core.office import Location
from waitboard.core.pauses import PauseReason
from waitboard.i18n import Translator
from waitboard.pages import forms, sessions
from waitboard.pages.render import language, link_for, render, see_other
from waitboard.services import service_levels
from waitboard.services import tickets as commands
from waitboard.services.auth import COUNTER_ROLES


async def _counter_values(ctx: AppContext, loc: Location, counter_id: str) -> dict[str, Any]:
    snap = await ctx.hub.snapshot(loc.id)
    levels = await service_levels.standings(ctx.store, ctx.office, loc)
    state = await ctx.store.location_state(loc.id)  # this counter's own state, exactly
    view = snapshot.counter(ctx.office, loc, counter_id, state)
    return {
        "snap": snap,
        "levels": levels,
        "counter": loc.counter_by_id[counter_id],
        "state": view,
        "current": view["ticket"],
    }


async def _render(request: Request, template: str, **extra: Any) -> Response:
    """The counter's page, or (every time the location changes) its live part."""
    ctx = context(request)
    loc = ctx.location(request.path_params["location"])
    counter = commands.counter_of(loc, request.path_params["counter"])
    device = await sessions.require_staff(request, COUNTER_ROLES, location=loc.id, counter=counter)
    return render(
        request,
        template,
        staff=True,
        device=device,
        location=loc,
        **extra,
        **await _counter_values(ctx, loc, counter),
    )


async def counter_page(request: Request) -> Response:
    loc = request.path_params["location"]
    return await _render(request, "staff/counter.html", ws=f"/ws/locations/{loc}")


async def counter_live(request: Request) -> Response:
    return await _render(request, "staff/_counter_live.html")


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
        reason = None
        if kind == "pause":
            try:
                reason = PauseReason(str(form.get("reason", "")))
            except ValueError:
                raise Unprocessable("Choose the reason of the pause.", field="reason") from None
        outcome = await commands.counter_command(ctx, device, loc, counter, kind, idem, reason)
        if kind == "call-next":
            sessions.flash(
                request,
                "ok",
                t("{number} wurde aufgerufen.", number=outcome.ticket.number)
                if outcome.ticket
                else t("Niemand wartet in Ihren Warteschlangen."),
            )
    except WaitboardError as e:
        sessions.flash(request, "error", t.error(e))
    return see_other(link_for(request, f"/staff/{loc.id}/counters/{counter}"))
