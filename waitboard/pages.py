"""Server-rendered pages: usable without JavaScript, made live by ``static/live.js``.

Each page is rendered with the location's current state read from Redis, and carries the
WebSocket address and its texts so the script can keep it current.
"""

from __future__ import annotations

import asyncio
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from waitboard import snapshot
from waitboard.context import context
from waitboard.i18n import Translator, pick_language
from waitboard.store import location_of_ticket

_env = Environment(loader=PackageLoader("kiosk_templates", "."),
                   autoescape=select_autoescape(["html"]), auto_reload=False)


def _render(request: Request, template: str, status: int = 200, **values: Any) -> Response:
    ctx = context(request)
    lang = pick_language(request.query_params.get("lang"))
    t = Translator(lang)
    html = _env.get_template(template).render(
        t=t, lang=lang, texts=t.texts, demo=ctx.settings.demo, request=request, **values)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


async def overview(request: Request) -> Response:
    ctx = context(request)
    snaps = await asyncio.gather(*(ctx.hub.snapshot(loc.id) for loc in ctx.office.locations))
    return _render(request, "overview.html", locations=snaps, ws="/ws/locations")


async def location_page(request: Request) -> Response:
    ctx = context(request)
    loc = ctx.location(request.path_params["location"])
    snap = await ctx.hub.snapshot(loc.id)
    return _render(request, "location.html", snap=snap, ws=f"/ws/locations/{loc.id}")


async def screen(request: Request) -> Response:
    ctx = context(request)
    loc = ctx.location(request.path_params["location"])
    snap = await ctx.hub.snapshot(loc.id)
    wanted = [q for q in request.query_params.get("queues", "").split(",") if q]
    queues = [q for q in wanted if q in loc.queue_by_id] or list(loc.queue_by_id)
    return _render(request, "screen.html", snap=snap, queues=queues,
                   ws=f"/ws/locations/{loc.id}")


async def ticket_page(request: Request) -> Response:
    ctx = context(request)
    ticket_id = request.path_params["ticket_id"]
    record, position, state = await ctx.store.ticket(ticket_id)  # NotFound if unknown
    loc = ctx.office.location_by_id[location_of_ticket(ticket_id) or ""]
    data = snapshot.ticket(ctx.office, loc, record, position, state)
    return _render(request, "ticket.html", ticket=data, location=loc,
                   ws=f"/ws/locations/{loc.id}")


def routes() -> list[BaseRoute]:
    return [
        Route("/", overview),
        Route("/locations/{location}", location_page),
        Route("/screens/{location}", screen),
        Route("/tickets/{ticket_id}", ticket_page),
        Mount("/static", StaticFiles(packages=[("kiosk_templates", "static")]),
              name="static"),
    ]
