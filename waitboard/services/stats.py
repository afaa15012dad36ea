"""A location's figures of one day, as the API and the staff pages both give them: read
from the store, summed up by the core, and as a CSV download for a spreadsheet."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from waitboard.context import AppContext
from waitboard.core import daystats
from waitboard.core.office import Location


async def day(ctx: AppContext, loc: Location, day: str) -> dict[str, Any]:
    """The figures of ``day`` (an ISO date) at ``loc``."""
    counts, waits = await ctx.store.day_figures(loc.id, day)
    return daystats.day(loc, day, counts, waits)


def csv_download(loc: Location, figures: dict[str, Any]) -> Response:
    """The figures as a CSV file named after the location and the day; never cached, as
    today's figures change all day."""
    return Response(
        daystats.as_csv(figures),
        media_type="text/csv; charset=utf-8",
        headers={
            "Cache-Control": "no-store",
            "Content-Disposition": (
                f'attachment; filename="waitboard-{loc.id}-{figures["date"]}.csv"'
            ),
        },
    )
