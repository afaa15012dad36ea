"""HTTP API v1: the commands of terminals, reception and counters, and public reads.

Every endpoint is declared once in :data:`ENDPOINTS`; the routes and the OpenAPI document
(:mod:`waitboard.openapi`) are both built from it. Checks run in a fixed order, so a
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

from waitboard import bodies, keys, schemas, snapshot
from waitboard.auth import (
    COUNTER_ROLES,
    ISSUE_ROLES,
    TICKET_DESK_ROLES,
    operated_counters,
    require,
)
from waitboard.config import Device, Location
from waitboard.context import AppContext, context
from waitboard.domain import Action
from waitboard.errors import NotFound, Unprocessable
from waitboard.store import Idempotency, Outcome, location_of_ticket

Handler = Callable[[Request], Awaitable[Response]]

_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


def json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json",
                    headers={"Cache-Control": "no-store", **(headers or {})})


# --- helpers --------------------------------------------------------------------------------


def _queue(loc: Location, queue_id: str) -> str:
    if queue_id not in loc.queue_by_id:
        raise Unprocessable(f"Queue '{queue_id}' does not exist at location {loc.id}; "
                            f"queues: {', '.join(loc.queue_by_id)}.", field="queue")
    return queue_id


def _counter(loc: Location, counter_id: str) -> str:
    if counter_id not in loc.counter_by_id:
        raise NotFound(f"There is no counter '{counter_id[:40]}' at location {loc.id}; "
                       f"counters: {', '.join(loc.counter_by_id)}.")
    return counter_id


def _ticket_location(ctx: AppContext, ticket_id: str) -> Location:
    loc = ctx.office.location_by_id.get(location_of_ticket(ticket_id) or "")
    if loc is None:
        raise NotFound(f"There is no ticket '{ticket_id[:80]}'.")
    return loc


def _idempotency(request: Request, device: Device, location: str,
                 body: BaseModel) -> Idempotency | None:
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not _IDEMPOTENCY_KEY.match(key):
        raise Unprocessable("The Idempotency-Key header must be 1 to 255 visible ASCII "
                            "characters, e.g. a UUID.", field="Idempotency-Key")
    return Idempotency(keys.idempotency(location, device.id, key),
                       bodies.fingerprint(request.method, request.url.path, body))


def _ticket_answer(ctx: AppContext, loc: Location, outcome: Outcome) -> Response:
    if outcome.status == 204 or outcome.ticket is None or outcome.location is None:
        return Response(status_code=204, headers={"Cache-Control": "no-store"})
    data = snapshot.ticket(ctx.office, loc, outcome.ticket, outcome.position, outcome.location)
    headers = {"Location": data["url"]} if outcome.status == 201 else {}
    if outcome.replayed:
        headers["Idempotent-Replayed"] = "true"
    return json(data, outcome.status, headers)


# --- public reads ---------------------------------------------------------------------------


async def list_locations(request: Request) -> Response:
    ctx = context(request)
    snaps = await asyncio.gather(*(ctx.hub.snapshot(loc.id) for loc in ctx.office.locations))
    return json({"locations": [snapshot.summary(s) for s in snaps]})


async def get_location(request: Request) -> Response:
    ctx = context(request)
    loc = ctx.location(request.path_params["location"])
    return json(await ctx.hub.snapshot(loc.id))


async def get_ticket(request: Request) -> Response:
    ctx = context(request)
    ticket_id = request.path_params["ticket_id"]
    loc = _ticket_location(ctx, ticket_id)
    ticket, position, state = await ctx.store.ticket(ticket_id)
    return json(snapshot.ticket(ctx.office, loc, ticket, position, state))


# --- commands -------------------------------------------------------------------------------


async def issue_ticket(request: Request) -> Response:
    ctx = context(request)
    device = ctx.devices.authenticate(request.headers.get("authorization"))
    loc = ctx.location(request.path_params["location"])
    require(device, ISSUE_ROLES, location=loc.id)
    body = await bodies.parse(request, schemas.TicketRequest)
    queue = _queue(loc, body.queue)
    # Terminals follow the opening hours; staff may still issue for people already inside.
    closed = device.role == "terminal" and not snapshot.is_open(ctx.office, loc, ctx.clock())
    outcome = await ctx.store.issue(loc.id, queue, device.id,
                                    _idempotency(request, device, loc.id, body), closed=closed)
    if not outcome.replayed:
        ctx.metrics.tickets_issued.labels(loc.id, queue).inc()
    return _ticket_answer(ctx, loc, outcome)


def _counter_command(kind: str) -> Handler:
    async def handler(request: Request) -> Response:
        ctx = context(request)
        device = ctx.devices.authenticate(request.headers.get("authorization"))
        loc = ctx.location(request.path_params["location"])
        counter = _counter(loc, request.path_params["counter"])
        require(device, COUNTER_ROLES, location=loc.id, counter=counter)
        body = await bodies.parse(request, schemas.EmptyRequest)
        idem = _idempotency(request, device, loc.id, body)
        if kind == "call-next":
            outcome = await ctx.store.call_next(loc.id, counter, idem)
            if outcome.status == 200 and not outcome.replayed:
                ctx.metrics.calls.labels(loc.id, "call").inc()
            return _ticket_answer(ctx, loc, outcome)
        outcome = await ctx.store.set_counter(loc.id, counter, kind == "open", idem)
        assert outcome.location is not None
        headers = {"Idempotent-Replayed": "true"} if outcome.replayed else {}
        return json(snapshot.counter(ctx.office, loc, counter, outcome.location),
                    headers=headers)

    handler.__name__ = f"counter_{kind.replace('-', '_')}"
    return handler


_TICKET_ACTIONS: dict[str, tuple[Action, tuple[str, ...]]] = {
    "recall": (Action.RECALL, COUNTER_ROLES),
    "start": (Action.START, COUNTER_ROLES),
    "complete": (Action.COMPLETE, COUNTER_ROLES),
    "no-show": (Action.NO_SHOW, COUNTER_ROLES),
    "cancel": (Action.CANCEL, TICKET_DESK_ROLES),
    "transfer": (Action.TRANSFER, TICKET_DESK_ROLES),
}


def _ticket_command(name: str) -> Handler:
    action, roles = _TICKET_ACTIONS[name]

    async def handler(request: Request) -> Response:
        ctx = context(request)
        device = ctx.devices.authenticate(request.headers.get("authorization"))
        ticket_id = request.path_params["ticket_id"]
        loc = _ticket_location(ctx, ticket_id)
        require(device, roles, location=loc.id)
        target: str | None = None
        body: BaseModel
        if action is Action.TRANSFER:
            transfer = await bodies.parse(request, schemas.TransferRequest)
            target, body = _queue(loc, transfer.queue), transfer
        else:
            body = await bodies.parse(request, schemas.EmptyRequest)
        outcome = await ctx.store.act(ticket_id, action, counters=operated_counters(device),
                                      queue=target,
                                      idem=_idempotency(request, device, loc.id, body))
        if action is Action.RECALL and not outcome.replayed:
            ctx.metrics.calls.labels(loc.id, "recall").inc()
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


_COMMAND_ERRORS = (401, 403, 404, 409, 413, 415, 422, 503)

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("GET", "/api/v1/locations", list_locations,
             "Every location: open or closed, waiting, estimated wait.",
             answers={200: schemas.LocationList}, errors=(503,), tag="public"),
    Endpoint("GET", "/api/v1/locations/{location}", get_location,
             "The live snapshot of one location (the same as on its WebSocket).",
             answers={200: schemas.Snapshot}, errors=(404, 503), tag="public"),
    Endpoint("GET", "/api/v1/tickets/{ticket_id}", get_ticket,
             "One ticket as its holder may see it: status, position, estimate, counter.",
             answers={200: schemas.Ticket}, errors=(404, 503), tag="public"),
    Endpoint("POST", "/api/v1/locations/{location}/tickets", issue_ticket,
             "Issue a ticket in a queue (409: location closed for terminals, or ticket stop).",
             roles=ISSUE_ROLES, body=schemas.TicketRequest, answers={201: schemas.Ticket},
             errors=_COMMAND_ERRORS),
    *(Endpoint("POST", f"/api/v1/locations/{{location}}/counters/{{counter}}/{kind}",
               _counter_command(kind), summary, roles=COUNTER_ROLES,
               body=schemas.EmptyRequest, answers={200: schemas.Counter},
               errors=_COMMAND_ERRORS)
      for kind, summary in (("open", "Open a counter."),
                            ("close", "Close a counter (409 while it has a ticket)."))),
    Endpoint("POST", "/api/v1/locations/{location}/counters/{counter}/call-next",
             _counter_command("call-next"),
             "Call the next ticket to this counter (204: nobody waits).",
             roles=COUNTER_ROLES, body=schemas.EmptyRequest,
             answers={200: schemas.Ticket, 204: None}, errors=_COMMAND_ERRORS),
    *(Endpoint("POST", f"/api/v1/tickets/{{ticket_id}}/{name}", _ticket_command(name),
               summary, roles=_TICKET_ACTIONS[name][1],
               body=schemas.TransferRequest if name == "transfer" else schemas.EmptyRequest,
               answers={200: schemas.Ticket}, errors=_COMMAND_ERRORS)
      for name, summary in (
          ("recall", "Call a called ticket again (the screens chime again)."),
          ("start", "The person arrived at the counter: serving starts."),
          ("complete", "Serving is finished."),
          ("no-show", "The called person did not come."),
          ("cancel", "Cancel a waiting or called ticket."),
          ("transfer", "Send the ticket to the end of another queue, keeping its number."))),
)


def routes() -> list[Route]:
    return [Route(e.path, e.handler, methods=[e.method]) for e in ENDPOINTS]
