"""The printed ticket's contents, shared by the reception's printer and the terminal's: the
ticket as its page shows it, and a QR code to that page in the language it was printed in."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from waitboard.context import AppContext
from waitboard.core import snapshot
from waitboard.core.errors import NotFound
from waitboard.core.office import Location
from waitboard.i18n import Translator
from waitboard.pages import qr
from waitboard.pages.render import language, link_for, public_base
from waitboard.services import tickets as commands


async def printed_ticket_values(
    request: Request, ctx: AppContext, loc: Location, ticket_id: str
) -> dict[str, Any]:
    if commands.location_of(ctx, ticket_id).id != loc.id:
        raise NotFound(f"There is no ticket '{ticket_id[:80]}' at {loc.id}.")
    record, position, state = await ctx.store.ticket(ticket_id)
    ticket = snapshot.ticket(ctx.office, loc, record, position, state, ctx.clock())
    # The code leads to the ticket page in the language the ticket was printed in.
    url = public_base(request) + link_for(request, ticket["url"])
    queue = loc.queue_by_id.get(record.queue) or {"name": record.queue}
    t = Translator(language(request))
    return {
        "ticket": ticket,
        "queue": queue,
        # (Named as an image; the caption under it says what to do with it.)
        "qr": qr.svg(url, t("QR-Code zu Ihrer Wartenummer")),
    }
