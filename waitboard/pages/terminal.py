"""The self-service ticket terminal: a touchscreen kiosk logged in with a terminal token.

Big buttons per service; a press is ONE request whose answer is the ticket screen (number,
service, people ahead, estimate and the QR code to the ticket page, shown and printed), or,
when no ticket was issued, the start screen saying why. Nothing between the press and its
answer can lose the ticket: there is no redirect to follow, the button's one-time key is the
Idempotency-Key (a double tap or a retry after a lost answer gives the same ticket), and
the page's script neither reloads nor navigates while a press is on its way
(``static/terminal.js``). Without JavaScript the same forms and answers work as plain pages.

Someone with a booking checks in on a screen of its own, with an on-screen keypad for the
code (a scanner reading the confirmation's QR code types into the same field).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from waitboard.context import AppContext, context
from waitboard.core import appointments, snapshot
from waitboard.core.errors import WaitboardError
from waitboard.core.office import Location
from waitboard.core.outcomes import OutcomeKind
from waitboard.core.staff import Actor
from waitboard.http_status import status_of
from waitboard.i18n import Translator
from waitboard.pages import forms, sessions
from waitboard.pages.printed import printed_ticket_values
from waitboard.pages.render import language, link_for, render, with_lang
from waitboard.services import tickets as commands
from waitboard.services.auth import CHECK_IN_ROLES, ISSUE_ROLES
from waitboard.store.idempotency import Idempotency
from waitboard.store.outcomes import Outcome

#: How long a terminal's ticket page can be opened again (a reload, the print's own
#: request); later the page is gone (back to the start): the next person must not find the
#: previous one's ticket in the history.
SHOW_TICKET_FOR = timedelta(minutes=2)
#: How long the ticket screen stays before the start comes back by itself ("more time"
#: adds to it): long enough to take the slip, or, with an empty printer, to scan the code.
TICKET_SCREEN_S = 30
#: The keypad's keys: the booking code's own alphabet, in reading order.
KEYPAD_ROWS = [
    appointments.CODE_ALPHABET[i : i + 8] for i in range(0, len(appointments.CODE_ALPHABET), 8)
]


async def start(request: Request) -> Response:
    ctx = context(request)
    loc = ctx.location(request.path_params["location"])
    device = await sessions.require_staff(request, ISSUE_ROLES, location=loc.id)
    return await _start_page(request, ctx, loc, device)


async def _start_page(
    request: Request,
    ctx: AppContext,
    loc: Location,
    device: Actor,
    *,
    status: int = 200,
    message: dict[str, str] | None = None,
) -> Response:
    """The start screen, fresh (new one-time keys), with a message about the last press.
    After a refused press the state is read from Redis, not from the hub's view, which may
    be a moment behind the refusal (a closing time that has just passed)."""
    if message and message["kind"] == "error":
        state = await ctx.store.location_state(loc.id)
        snap = snapshot.snapshot(ctx.office, loc, state, ctx.clock())
    else:
        snap = await ctx.hub.snapshot(loc.id)
    return render(
        request,
        "terminal.html",
        status=status,
        staff=True,
        device=device,
        location=loc,
        snap=snap,
        ws=f"/ws/locations/{loc.id}",
        keys={q.id: secrets.token_urlsafe(12) for q in loc.queues},
        message=message,
        here=link_for(request, f"/terminal/{loc.id}"),
    )


class _Press(NamedTuple):
    """A form sent from the terminal, checked: where, by which terminal, what, in which
    language, and its one-time key as Idempotency-Key."""

    ctx: AppContext
    loc: Location
    device: Actor
    form: dict[str, str]
    idem: Idempotency | None
    lang: str


async def _press(request: Request, roles: tuple[str, ...]) -> _Press:
    ctx = context(request)
    loc = ctx.location(request.path_params["location"])
    device = await sessions.require_staff(request, roles, location=loc.id)
    form = await forms.read_form(request)
    sessions.check_csrf(request, form)
    return _Press(
        ctx,
        loc,
        device,
        form,
        forms.form_idempotency(device, loc.id, request.url.path, form),
        language(request),
    )


async def issue(request: Request) -> Response:
    """A press on a service: the ticket screen, or the start screen saying why not."""
    ctx, loc, device, form, idem, lang = await _press(request, ISSUE_ROLES)
    try:
        outcome = await commands.issue(ctx, device, loc, form.get("queue", ""), idem)
    except WaitboardError as e:
        message = {"kind": "error", "text": Translator(lang).error(e)}
        return await _start_page(request, ctx, loc, device, status=status_of(e), message=message)
    return await _ticket_screen(request, ctx, loc, device, outcome)


async def check_in_page(request: Request) -> Response:
    ctx = context(request)
    loc = ctx.location(request.path_params["location"])
    device = await sessions.require_staff(request, CHECK_IN_ROLES, location=loc.id)
    return _check_in_page(request, loc, device)


def _check_in_page(
    request: Request,
    loc: Location,
    device: Actor,
    *,
    status: int = 200,
    error: str | None = None,
    code: str = "",
) -> Response:
    lang = language(request)
    return render(
        request,
        "terminal_check_in.html",
        status=status,
        staff=True,
        device=device,
        location=loc,
        error=error,
        code=code[: sessions.FLASH_VALUE_MAX],
        keypad=KEYPAD_ROWS,
        back=with_lang(f"/terminal/{loc.id}", lang),
        here=with_lang(f"/terminal/{loc.id}/check-in", lang),
    )


async def check_in(request: Request) -> Response:
    """Someone with a booking types or scans their code: their ticket screen; the check-in
    screen again, with the code kept for correcting, when the code finds nothing."""
    ctx, loc, device, form, idem, lang = await _press(request, CHECK_IN_ROLES)
    t = Translator(lang)
    code = form.get("code", "")
    try:
        outcome = await commands.check_in(ctx, device, loc, code, idem)
    except WaitboardError as e:
        return _check_in_page(
            request, loc, device, status=status_of(e), error=t.error(e), code=code
        )
    assert outcome.ticket is not None
    if outcome.kind is OutcomeKind.DONE and not outcome.replayed:
        # Checked in before (and the slip taken then): the start screen says so.
        message = {
            "kind": "ok",
            "text": t("Schon eingecheckt: Wartenummer {number}.", number=outcome.ticket.number),
        }
        return await _start_page(request, ctx, loc, device, message=message)
    return await _ticket_screen(request, ctx, loc, device, outcome)


async def _ticket_screen(
    request: Request, ctx: AppContext, loc: Location, device: Actor, outcome: Outcome
) -> Response:
    assert outcome.ticket is not None
    values = await printed_ticket_values(request, ctx, loc, outcome.ticket.id)
    return _render_ticket(request, loc, device, values)


def _render_ticket(
    request: Request, loc: Location, device: Actor, values: dict[str, Any]
) -> Response:
    lang = language(request)
    return render(
        request,
        "terminal_ticket.html",
        staff=True,
        device=device,
        location=loc,
        # The next person is someone else: the start is German again.
        back=f"/terminal/{loc.id}",
        here=with_lang(f"/terminal/{loc.id}/tickets/{values['ticket']['id']}", lang),
        seconds=TICKET_SCREEN_S,
        **values,
    )


async def show_ticket(request: Request) -> Response:
    """A ticket screen opened again (a reload of the kiosk): for a short while only."""
    ctx = context(request)
    loc = ctx.location(request.path_params["location"])
    device = await sessions.require_staff(request, ISSUE_ROLES, location=loc.id)
    values = await printed_ticket_values(request, ctx, loc, request.path_params["ticket_id"])
    sessions.take_flash(request)  # the ticket itself says it
    issued = datetime.fromisoformat(values["ticket"]["issued_at"])
    if ctx.clock() - issued > SHOW_TICKET_FOR:
        # The next person must not find the previous one's ticket in the history.
        return RedirectResponse(f"/terminal/{loc.id}", status_code=303)
    return _render_ticket(request, loc, device, values)


def routes() -> list[Route]:
    return [
        Route("/terminal/{location}", start),
        Route("/terminal/{location}/tickets", issue, methods=["POST"]),
        Route("/terminal/{location}/check-in", check_in_page, methods=["GET"]),
        Route("/terminal/{location}/check-in", check_in, methods=["POST"]),
        Route("/terminal/{location}/tickets/{ticket_id}", show_ticket),
    ]
