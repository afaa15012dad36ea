"""HTTP API v1: the commands of terminals, reception and counters, and public reads.

Every endpoint is declared once in :data:`ENDPOINTS`; the routes and the OpenAPI document
(:mod:`waitboard.web.openapi`) are both built from it. Checks run in a fixed order, so a
request learns the most useful thing first: token (401), address (404), permission
(403), body (413/415/422), then the state in Redis (409).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from waitboard.context import AppContext, context
from waitboard.core import daystats, snapshot
from waitboard.core.errors import Unprocessable
from waitboard.core.languages import CITIZEN_LANGUAGES
from waitboard.core.office import Location
from waitboard.core.outcomes import OutcomeKind
from waitboard.core.pauses import PauseReason
from waitboard.core.staff import Actor
from waitboard.http_status import OUTCOME_STATUS
from waitboard.services import stats
from waitboard.services import tickets as commands
from waitboard.services.auth import COUNTER_ROLES, ISSUE_ROLES, SENSOR_ROLES, STATS_ROLES, require
from waitboard.store import keys
from waitboard.store.idempotency import Idempotency
from waitboard.store.outcomes import Outcome
from waitboard.web import bodies, schemas

Handler = Callable[[Request], Awaitable[Response]]

_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


def json(
    data: Any, status: int = 200, headers: dict[str, str] | None = None, *, replayed: bool = False
) -> Response:
    """An API answer; ``replayed``: the answer of an earlier request with the same
    Idempotency-Key, which says so in a header."""
    extra = {"Idempotent-Replayed": "true"} if replayed else {}
    return Response(
        orjson.dumps(data),
        status_code=status,
        media_type="application/json",
        headers={"Cache-Control": "no-store", **(headers or {}), **extra},
    )


# --- helpers --------------------------------------------------------------------------------


def idempotency_key(request: Request) -> str | None:
    """The request's Idempotency-Key header, checked (422 when malformed)."""
    key = request.headers.get("idempotency-key")
    if key is not None and not _IDEMPOTENCY_KEY.match(key):
        raise Unprocessable(
            "The Idempotency-Key header must be 1 to 255 visible ASCII characters, e.g. a UUID.",
            field="Idempotency-Key",
        )
    return key


def _idempotency(
    request: Request, device: Actor, location: str, body: BaseModel
) -> Idempotency | None:
    key = idempotency_key(request)
    if key is None:
        return None
    return Idempotency(
        keys.idempotency(location, device.id, key),
        bodies.fingerprint(request.method, request.url.path, body),
    )


def _ticket_answer(ctx: AppContext, loc: Location, outcome: Outcome) -> Response:
    if outcome.kind is OutcomeKind.NOTHING or outcome.ticket is None or outcome.location is None:
        return Response(status_code=204, headers={"Cache-Control": "no-store"})
    data = snapshot.ticket(
        ctx.office,
        loc,
        outcome.ticket,
        outcome.position,
        outcome.location,
        ctx.clock(),
        outcome.forecast,
    )
    headers = {"Location": data["url"]} if outcome.kind is OutcomeKind.CREATED else {}
    return json(data, OUTCOME_STATUS[outcome.kind], headers, replayed=outcome.replayed)


# --- public reads ---------------------------------------------------------------------------


async def list_locations(request: Request) -> Response:
    ctx = context(request)
    snaps = await asyncio.gather(*(ctx.hub.snapshot(loc.id) for loc in ctx.office.locations))
    return json({"locations": [snapshot.summary(s) for s in snaps]})


async def get_location(request: Request) -> Response:
    ctx = context(request)
    loc = ctx.location(request.path_params["location"])
    return json(await ctx.hub.snapshot(loc.id))


async def get_names(request: Request) -> Response:
    loc = context(request).location(request.path_params["location"])

    def named(thing: Any) -> dict[str, Any]:
        return {
            "id": thing.id,
            "names": {lang: thing.display_name(lang) for lang in CITIZEN_LANGUAGES},
        }

    return json(
        {
            "location": named(loc),
            "queues": [named(q) for q in loc.queues],
            "counters": [named(c) for c in loc.counters],
        }
    )


async def get_ticket(request: Request) -> Response:
    ctx = context(request)
    ticket_id = request.path_params["ticket_id"]
    loc = commands.location_of(ctx, ticket_id)
    ticket, position, state = await ctx.store.ticket(ticket_id)
    return json(snapshot.ticket(ctx.office, loc, ticket, position, state, ctx.clock()))


async def report_occupancy(request: Request) -> Response:
    ctx = context(request)
    device = ctx.devices.authenticate(request.headers.get("authorization"))
    loc = ctx.location(request.path_params["location"])
    require(device, SENSOR_ROLES, location=loc.id)
    body = await bodies.parse(request, schemas.OccupancyRequest)
    if body.zone not in loc.zone_by_id:
        raise Unprocessable(
            f"Zone '{body.zone}' does not exist at location {loc.id}; zones: "
            f"{', '.join(loc.zone_by_id) or 'none configured'}.",
            field="zone",
        )
    outcome = await ctx.store.set_occupancy(
        loc.id, body.zone, body.count, _idempotency(request, device, loc.id, body)
    )
    return json({"zone": body.zone, "count": body.count}, replayed=outcome.replayed)


async def location_stats(request: Request) -> Response:
    ctx = context(request)
    device = ctx.devices.authenticate(request.headers.get("authorization"))
    loc = ctx.location(request.path_params["location"])
    require(device, STATS_ROLES, location=loc.id)
    fmt = request.query_params.get("format", "json")
    if fmt not in ("json", "csv"):
        raise Unprocessable("format must be json or csv.", field="format")
    try:
        day = daystats.parse_day(
            request.query_params.get("date"), ctx.clock().astimezone(ctx.office.tz).date()
        )
    except ValueError as e:
        raise Unprocessable(f"date: {e}.", field="date") from None
    data = await stats.day(ctx, loc, day)
    if fmt == "csv":
        return stats.csv_download(loc, data)
    return json(data)


# --- commands -------------------------------------------------------------------------------


async def issue_ticket(request: Request) -> Response:
    ctx = context(request)
    device = ctx.devices.authenticate(request.headers.get("authorization"))
    loc = commands.authorize_issue(ctx, device, request.path_params["location"])
    body = await bodies.parse(request, schemas.TicketRequest)
    outcome = await commands.issue(
        ctx, device, loc, body.queue, _idempotency(request, device, loc.id, body)
    )
    return _ticket_answer(ctx, loc, outcome)


def _counter_command(kind: str) -> Handler:
    async def handler(request: Request) -> Response:
        ctx = context(request)
        device = ctx.devices.authenticate(request.headers.get("authorization"))
        loc, counter = commands.authorize_counter(
            ctx, device, request.path_params["location"], request.path_params["counter"]
        )
        body: BaseModel
        reason = None
        if kind == "pause":
            pause = await bodies.parse(request, schemas.PauseRequest)
            body, reason = pause, PauseReason(pause.reason)
        else:
            body = await bodies.parse(request, schemas.EmptyRequest)
        outcome = await commands.counter_command(
            ctx, device, loc, counter, kind, _idempotency(request, device, loc.id, body), reason
        )
        if kind == "call-next":
            return _ticket_answer(ctx, loc, outcome)
        assert outcome.location is not None
        return json(
            snapshot.counter(ctx.office, loc, counter, outcome.location), replayed=outcome.replayed
        )

    handler.__name__ = f"counter_{kind.replace('-', '_')}"
    return handler


def _ticket_command(name: str) -> Handler:
    async def handler(request: Request) -> Response:
        ctx = context(request)
        device = ctx.devices.authenticate(request.headers.get("authorization"))
        ticket_id = request.path_params["ticket_id"]
        loc = commands.authorize_ticket(ctx, device, ticket_id, name)
        body: BaseModel
        target: str | None = None
        if name == "transfer":
            transfer = await bodies.parse(request, schemas.TransferRequest)
            body, target = transfer, transfer.queue
        else:
            body = await bodies.parse(request, schemas.EmptyRequest)
        outcome = await commands.ticket_command(
            ctx, device, loc, ticket_id, name, target, _idempotency(request, device, loc.id, body)
        )
        return _ticket_answer(ctx, loc, outcome)

    handler.__name__ = f"ticket_{name.replace('-', '_')}"
    return handler


# --- the table ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    roles: tuple[str, ...] = ()  # empty: public
    body: type[BaseModel] | None = None
    answers: dict[int, type[BaseModel] | None] = field(default_factory=dict)
    errors: tuple[int, ...] = ()
    tag: str = "commands"
    query: tuple[tuple[str, str, dict[str, Any]], ...] = ()  # (name, description, schema)
    csv: bool = False  # 200 may also come as text/csv
    idempotent: bool = False  # a public POST that takes an Idempotency-Key


_COMMAND_ERRORS = (401, 403, 404, 409, 413, 415, 422, 503)

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "GET",
        "/api/v1/locations",
        list_locations,
        "Every location: open or closed, waiting, estimated wait.",
        answers={200: schemas.LocationList},
        errors=(503,),
        tag="public",
    ),
    Endpoint(
        "GET",
        "/api/v1/locations/{location}",
        get_location,
        "The live snapshot of one location (the same as on its WebSocket).",
        answers={200: schemas.Snapshot},
        errors=(404, 503),
        tag="public",
    ),
    Endpoint(
        "GET",
        "/api/v1/locations/{location}/names",
        get_names,
        "The names of the location, its queues and counters in every citizen language "
        "(a terminal's buttons and printed tickets in the person's language).",
        answers={200: schemas.LocationNames},
        errors=(404,),
        tag="public",
    ),
    Endpoint(
        "GET",
        "/api/v1/tickets/{ticket_id}",
        get_ticket,
        "One ticket as its holder may see it: status, position, estimate, counter.",
        answers={200: schemas.Ticket},
        errors=(404, 503),
        tag="public",
    ),
    Endpoint(
        "GET",
        "/api/v1/locations/{location}/stats",
        location_stats,
        "A day's figures: tickets, waits (mean, p90), no-shows, service times, "
        "arrivals per hour; kept for 400 days.",
        roles=STATS_ROLES,
        answers={200: schemas.DayStats},
        errors=(401, 403, 404, 422, 503),
        tag="statistics",
        csv=True,
        query=(
            (
                "date",
                "The day, YYYY-MM-DD (default: today, local time).",
                {"type": "string", "pattern": r"^(\d{4}-\d{2}-\d{2})?$"},
            ),
            ("format", "json (default) or csv.", {"type": "string", "enum": ["json", "csv"]}),
        ),
    ),
    Endpoint(
        "POST",
        "/api/v1/locations/{location}/occupancy",
        report_occupancy,
        "A people counter reports how many are in a waiting zone now.",
        roles=SENSOR_ROLES,
        body=schemas.OccupancyRequest,
        answers={200: schemas.Occupancy},
        errors=_COMMAND_ERRORS,
        tag="sensors",
    ),
    Endpoint(
        "POST",
        "/api/v1/locations/{location}/tickets",
        issue_ticket,
        "Issue a ticket in a queue (409: location closed for terminals, or ticket stop).",
        roles=ISSUE_ROLES,
        body=schemas.TicketRequest,
        answers={201: schemas.Ticket},
        errors=_COMMAND_ERRORS,
    ),
    *(
        Endpoint(
            "POST",
            f"/api/v1/locations/{{location}}/counters/{{counter}}/{kind}",
            _counter_command(kind),
            summary,
            roles=COUNTER_ROLES,
            body=schemas.PauseRequest if kind == "pause" else schemas.EmptyRequest,
            answers={200: schemas.Counter},
            errors=_COMMAND_ERRORS,
        )
        for kind, summary in (
            ("open", "Open a counter (a paused one: resume it)."),
            ("close", "Close a counter, also a paused one (409 while it has a ticket)."),
            (
                "pause",
                "Pause an open counter for a reason (409 while it has a ticket): it serves "
                "nobody, the estimate expects it back after the usual such pause.",
            ),
            ("resume", "End a counter's pause: it is open again (409 when it is closed)."),
        )
    ),
    Endpoint(
        "POST",
        "/api/v1/locations/{location}/counters/{counter}/call-next",
        _counter_command("call-next"),
        "Call the next ticket to this counter (204: nobody waits; 409: closed or paused).",
        roles=COUNTER_ROLES,
        body=schemas.EmptyRequest,
        answers={200: schemas.Ticket, 204: None},
        errors=_COMMAND_ERRORS,
    ),
    *(
        Endpoint(
            "POST",
            f"/api/v1/tickets/{{ticket_id}}/{name}",
            _ticket_command(name),
            summary,
            roles=commands.TICKET_COMMANDS[name][1],
            body=schemas.TransferRequest if name == "transfer" else schemas.EmptyRequest,
            answers={200: schemas.Ticket},
            errors=_COMMAND_ERRORS,
        )
        for name, summary in (
            ("recall", "Call a called ticket again (the screens chime again)."),
            ("start", "The person arrived at the counter: serving starts."),
            ("complete", "Serving is finished."),
            ("no-show", "The called person did not come."),
            ("cancel", "Cancel a waiting or called ticket."),
            ("transfer", "Send the ticket to the end of another queue, keeping its number."),
        )
    ),
)


def routes() -> list[Route]:
    return [Route(e.path, e.handler, methods=[e.method]) for e in ENDPOINTS]
