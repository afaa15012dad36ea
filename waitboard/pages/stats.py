"""A location's figures of one day for the staff: the page with its chart, and the CSV."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from waitboard.context import context
from waitboard.core import daystats
from waitboard.core.office import Location
from waitboard.core.staff import Actor
from waitboard.pages import sessions
from waitboard.pages.render import render
from waitboard.services import stats
from waitboard.services.auth import STATS_ROLES


async def _day_stats(
    request: Request,
) -> tuple[Actor, Location, dict[str, Any], str | None]:
    """The figures of the asked day (today when none or none that is a day is asked for:
    then also what was asked, for the page to say)."""
    ctx = context(request)
    loc = ctx.location(request.path_params["location"])
    device = await sessions.require_staff(request, STATS_ROLES, location=loc.id)
    today = ctx.clock().astimezone(ctx.office.tz).date()
    asked, bad_day = request.query_params.get("date"), None
    try:
        day = daystats.parse_day(asked, today)
    except ValueError:
        day, bad_day = today.isoformat(), (asked or "")[:20]
    return device, loc, await stats.day(ctx, loc, day), bad_day


async def stats_page(request: Request) -> Response:
    device, loc, figures, bad_day = await _day_stats(request)
    return render(
        request,
        "staff/stats.html",
        staff=True,
        device=device,
        location=loc,
        stats=figures,
        bad_day=bad_day,
        chart=_chart(figures["arrivals_per_hour"]),
    )


async def stats_csv(request: Request) -> Response:
    _, loc, figures, _ = await _day_stats(request)
    return stats.csv_download(loc, figures)


def _chart(hours: list[dict[str, Any]]) -> dict[str, Any]:
    """Bars for arrivals per hour, laid out here so the template only draws them."""
    peak = max((h["arrivals"] for h in hours), default=0) or 1
    width, height, gap = 44, 160, 8
    bars = [
        {
            "x": i * (width + gap),
            "w": width,
            "h": round(h["arrivals"] / peak * height),
            "y": height - round(h["arrivals"] / peak * height),
            **h,
        }
        for i, h in enumerate(hours)
    ]
    return {"bars": bars, "width": max(1, len(bars) * (width + gap)), "height": height}
