"""The admin's staff directory: the people who signed in, by name, and deleting one who
left (asked once more, then done). The audit keeps their actions under the pseudonym,
which then names nobody; the deletion itself is recorded too."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from waitboard.context import context
from waitboard.core.clock import from_ms
from waitboard.core.errors import NotFound, WaitboardError
from waitboard.i18n import Translator
from waitboard.pages import forms, sessions
from waitboard.pages.render import language, link_for, render, see_other

HOME = "/staff/people"
ADMIN = ("admin",)


async def people_page(request: Request) -> Response:
    ctx = context(request)
    device = await sessions.require_staff(request, ADMIN)
    t = Translator(language(request))
    rows = [
        {
            "member": m,
            "seen": t.moment(from_ms(m.last_seen_ms, ctx.office.tz)) if m.last_seen_ms else "–",
        }
        for m in await ctx.store.staff_members()
    ]
    return render(request, "staff/people.html", staff=True, device=device, location=None, rows=rows)


async def confirm_page(request: Request) -> Response:
    """Asked once more before deleting: who, and what stays."""
    ctx = context(request)
    device = await sessions.require_staff(request, ADMIN)
    person = request.path_params["person"]
    names = await ctx.store.person_names([person])
    if person not in names:
        raise NotFound("This person is not in the staff directory (deleted already?).")
    return render(
        request,
        "staff/people_delete.html",
        staff=True,
        device=device,
        location=None,
        person=person,
        name=names[person],
    )


async def delete(request: Request) -> Response:
    ctx = context(request)
    device = await sessions.require_staff(request, ADMIN)
    form = await forms.read_form(request)
    sessions.check_csrf(request, form)
    t = Translator(language(request))
    try:
        if await ctx.store.forget_person(request.path_params["person"], by=device):
            sessions.flash(
                request,
                "ok",
                t("Gelöscht. Das Protokoll nennt diese Person nur noch mit ihrem Pseudonym."),
            )
        else:
            sessions.flash(request, "ok", t("Diese Person war nicht (mehr) im Verzeichnis."))
    except WaitboardError as e:
        sessions.flash(request, "error", t.error(e))
    return see_other(link_for(request, HOME))


def routes() -> list[Route]:
    return [
        Route(HOME, people_page, methods=["GET"]),
        Route(HOME + "/{person}/delete", confirm_page, methods=["GET"]),
        Route(HOME + "/{person}/delete", delete, methods=["POST"]),
    ]
