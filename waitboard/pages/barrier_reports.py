"""The admin's list of barrier reports (:mod:`waitboard.pages.accessibility` takes them):
newest first, with what was wrong, where, in which language, and a contact until the
report is marked handled - which deletes the contact."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from waitboard.context import context
from waitboard.core.clock import from_ms
from waitboard.core.errors import WaitboardError
from waitboard.i18n import Translator
from waitboard.pages import forms, sessions
from waitboard.pages.render import language, link_for, render, see_other

HOME = "/staff/barrier-reports"
ADMIN = ("admin",)


async def list_page(request: Request) -> Response:
    ctx = context(request)
    device = await sessions.require_staff(request, ADMIN)
    t = Translator(language(request))
    reports = [
        {
            "report": r,
            "when": t.moment(from_ms(r.at_ms, ctx.office.tz)),
        }
        for r in await ctx.store.barrier_reports()
    ]
    return render(
        request,
        "staff/barrier_reports.html",
        staff=True,
        device=device,
        location=None,
        reports=reports,
    )


async def handled(request: Request) -> Response:
    ctx = context(request)
    await sessions.require_staff(request, ADMIN)
    form = await forms.read_form(request)
    sessions.check_csrf(request, form)
    t = Translator(language(request))
    try:
        await ctx.store.handle_barrier_report(request.path_params["report_id"])
        sessions.flash(request, "ok", t("Als bearbeitet markiert; der Kontakt ist gelöscht."))
    except WaitboardError as e:
        sessions.flash(request, "error", t.error(e))
    return see_other(link_for(request, HOME))


def routes() -> list[Route]:
    return [
        Route(HOME, list_page, methods=["GET"]),
        Route(HOME + "/{report_id}/handled", handled, methods=["POST"]),
    ]
