"""Staff pages: signing in and out, the admin's start page, and the routes of every staff
page (the reception, counters, a desk's ticket actions, appointments, statistics).

Forms post, the server acts through :mod:`waitboard.services` (the same as the API) and
redirects back (post/redirect/get), with a message on the next page. Every form carries
the session's CSRF token; forms that create something also carry a one-time key that
becomes the Idempotency-Key, so a double click issues one ticket, not two.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from waitboard.context import context
from waitboard.core.errors import Unauthorized
from waitboard.pages import counter, desk, forms, reception, sessions, sign_in, stats
from waitboard.pages.appointment_list import appointments_page
from waitboard.pages.render import link_for, render, see_other
from waitboard.pages.sessions import home_of


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
        sign_in=context(request).sign_in is not None,
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
            sign_in=ctx.sign_in is not None,
        )
    sessions.login(request, device)
    await ctx.store.record_staff_action("sign_in", device)
    target = _safe_next(form.get("next")) or home_of(device)
    return see_other(link_for(request, target))


async def logout(request: Request) -> Response:
    form = await forms.read_form(request)
    sessions.check_csrf(request, form)
    if request.session.get(sessions.PERSON):
        # A person signs out; a device's login on this browser (a counter PC) stays. No
        # re-check and no choice of workplace on the way: signing out always ends the session.
        return await sign_in.sign_out(request)
    device = await sessions.current_device(request)
    await sessions.logout(request)
    if device is not None:
        await context(request).store.record_staff_action("sign_out", device)
    return see_other(link_for(request, "/staff/login"))


async def index(request: Request) -> Response:
    device = await sessions.current_actor(request)
    if device is None:
        return see_other(link_for(request, "/staff/login"))
    if device.role != "admin":
        return see_other(link_for(request, home_of(device)))
    ctx = context(request)
    return render(
        request,
        "staff/index.html",
        staff=True,
        device=device,
        location=None,
        locations=ctx.office.locations,
    )


def routes() -> list[Route]:
    loc = "/staff/{location}"
    return [
        *sign_in.routes(),
        Route("/staff", index),
        Route("/staff/login", login_page, methods=["GET"]),
        Route("/staff/login", login, methods=["POST"]),
        Route("/staff/logout", logout, methods=["POST"]),
        Route(f"{loc}/reception", reception.reception),
        Route(f"{loc}/reception/live", reception.reception_live),
        Route(f"{loc}/reception/tickets", reception.reception_issue, methods=["POST"]),
        Route(f"{loc}/check-in", desk.check_in, methods=["POST"]),
        Route(f"{loc}/appointments", appointments_page),
        Route(f"{loc}/stats", stats.stats_page),
        Route(f"{loc}/stats.csv", stats.stats_csv),
        Route(f"{loc}/tickets/{{ticket_id}}/print", reception.print_ticket),
        Route(f"{loc}/tickets/{{ticket_id}}/{{action}}", desk.ticket_action, methods=["POST"]),
        Route(f"{loc}/counters/{{counter}}", counter.counter_page),
        Route(f"{loc}/counters/{{counter}}/live", counter.counter_live),
        Route(
            f"{loc}/counters/{{counter}}/tickets/{{ticket_id}}/{{action}}",
            desk.ticket_action,
            methods=["POST"],
        ),
        Route(f"{loc}/counters/{{counter}}/check-in", desk.check_in, methods=["POST"]),
        Route(f"{loc}/counters/{{counter}}/{{action}}", counter.counter_action, methods=["POST"]),
    ]
