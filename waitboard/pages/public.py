"""Public pages: overview, location, lobby screen, a citizen's ticket.

Rendered on the server from the hub's live view (usable without JavaScript; they refresh
themselves without it), then kept current by ``static/live.js``. They never set a cookie.
"""

from __future__ import annotations

import asyncio
from importlib import resources

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from waitboard.context import context
from waitboard.core import snapshot
from waitboard.i18n import Translator
from waitboard.pages.render import language, render
from waitboard.services import tickets as commands


async def overview(request: Request) -> Response:
    ctx = context(request)
    snaps = await asyncio.gather(*(ctx.hub.snapshot(loc.id) for loc in ctx.office.locations))
    return render(request, "overview.html", locations=snaps, ws="/ws/locations")


async def location_page(request: Request) -> Response:
    ctx = context(request)
    loc = ctx.location(request.path_params["location"])
    return render(
        request,
        "location.html",
        snap=await ctx.hub.snapshot(loc.id),
        location=loc,
        week=Translator(language(request)).week(loc),
        today=ctx.clock().astimezone(ctx.office.tz).weekday(),
        ws=f"/ws/locations/{loc.id}",
    )


async def screen(request: Request) -> Response:
    ctx = context(request)
    loc = ctx.location(request.path_params["location"])
    wanted = [q for q in request.query_params.get("queues", "").split(",") if q]
    queues = [q for q in wanted if q in loc.queue_by_id] or list(loc.queue_by_id)
    return render(
        request,
        "screen.html",
        snap=await ctx.hub.snapshot(loc.id),
        queues=queues,
        voice=request.query_params.get("voice") == "1",
        ws=f"/ws/locations/{loc.id}",
    )


async def ticket_page(request: Request) -> Response:
    ctx = context(request)
    ticket_id = request.path_params["ticket_id"]
    loc = commands.location_of(ctx, ticket_id)
    record, position, state = await ctx.store.ticket(ticket_id)  # NotFound if unknown
    return render(
        request,
        "ticket.html",
        ticket=snapshot.ticket(ctx.office, loc, record, position, state, ctx.clock()),
        location=loc,
        queue=loc.queue_by_id.get(record.queue) or {"name": record.queue},
        ws=f"/ws/locations/{loc.id}",
    )


async def push_worker(request: Request) -> Response:
    """The service worker of a ticket's push messages, served from /tickets/ so that it may
    look after the ticket pages (a worker's scope is at most its own folder)."""
    source = resources.files("kiosk_templates").joinpath("static", "push-worker.js")
    return Response(
        source.read_bytes(),
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache"},
    )


async def ticket_manifest(request: Request) -> Response:
    """A web app manifest for one ticket: saved to a phone's home screen it opens this
    ticket's page (and on an iPhone, only such a saved page can receive push messages)."""
    ctx = context(request)
    ticket_id = request.path_params["ticket_id"]
    loc = commands.location_of(ctx, ticket_id)
    record, _, _ = await ctx.store.ticket(ticket_id)
    t = Translator(language(request))
    lang = language(request)
    start = f"/tickets/{ticket_id}" + ("" if lang == "de" else f"?lang={lang}")
    manifest = {
        "name": f"{t.pgettext('ticket.title', 'Ihre Wartenummer')} {record.number} – {t.name(loc)}",
        "short_name": record.number,
        "start_url": start,
        "scope": "/tickets/",
        "display": "standalone",
        "lang": t.html_lang,
        "dir": t.dir,
        "background_color": "#ffffff",
        "theme_color": "#ffffff",
        "icons": [{"src": "/static/favicon.svg", "sizes": "any", "type": "image/svg+xml"}],
    }
    return Response(
        orjson.dumps(manifest),
        media_type="application/manifest+json",
        headers={"Cache-Control": "no-store"},
    )


def routes() -> list[BaseRoute]:
    return [
        Route("/", overview),
        Route("/locations/{location}", location_page),
        Route("/screens/{location}", screen),
        Route("/tickets/push-worker.js", push_worker),
        Route("/tickets/{ticket_id}", ticket_page),
        Route("/tickets/{ticket_id}/manifest.webmanifest", ticket_manifest),
        Mount("/static", StaticFiles(packages=[("kiosk_templates", "static")]), name="static"),
    ]
