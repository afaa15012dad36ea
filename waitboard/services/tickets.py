"""The commands as every front end runs them: the HTTP API, the staff pages, the terminal.

Permission checks, opening hours and metrics live here, so a button on a staff page and
an API call behave exactly alike. Callers parse their input (JSON body, form) first.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from waitboard.context import AppContext
from waitboard.core import appointments, snapshot
from waitboard.core.domain import Action
from waitboard.core.errors import (
    AppointmentsOnly,
    BookingElsewhere,
    BookingNotFound,
    NoSuchTicket,
    NotFound,
    Unprocessable,
)
from waitboard.core.office import Location
from waitboard.core.outcomes import OutcomeKind
from waitboard.core.pauses import CounterCommand, PauseReason
from waitboard.core.staff import Actor
from waitboard.services import bookings
from waitboard.services.auth import (
    CHECK_IN_ROLES,
    COUNTER_ROLES,
    ISSUE_ROLES,
    TICKET_DESK_ROLES,
    operated_counters,
    require,
)
from waitboard.store.idempotency import Idempotency
from waitboard.store.office_store import Store
from waitboard.store.outcomes import Outcome
from waitboard.store.tickets import location_of_ticket

#: Ticket commands by their name in URLs, with the roles that may run them.
TICKET_COMMANDS: dict[str, tuple[Action, tuple[str, ...]]] = {
    "recall": (Action.RECALL, COUNTER_ROLES),
    "start": (Action.START, COUNTER_ROLES),
    "complete": (Action.COMPLETE, COUNTER_ROLES),
    "no-show": (Action.NO_SHOW, COUNTER_ROLES),
    "cancel": (Action.CANCEL, TICKET_DESK_ROLES),
    "transfer": (Action.TRANSFER, TICKET_DESK_ROLES),
}
COUNTER_COMMANDS = ("open", "close", "pause", "resume", "call-next")


def queue_of(loc: Location, queue_id: str) -> str:
    if queue_id not in loc.queue_by_id:
        raise Unprocessable(
            f"Queue '{queue_id[:20]}' does not exist at location {loc.id}; "
            f"queues: {', '.join(loc.queue_by_id)}.",
            field="queue",
        )
    return queue_id


def counter_of(loc: Location, counter_id: str) -> str:
    if counter_id not in loc.counter_by_id:
        raise NotFound(
            f"There is no counter '{counter_id[:40]}' at location {loc.id}; "
            f"counters: {', '.join(loc.counter_by_id)}."
        )
    return counter_id


def location_of(ctx: AppContext, ticket_id: str) -> Location:
    """The location a ticket id names (NotFound when it names none)."""
    loc = ctx.office.location_by_id.get(location_of_ticket(ticket_id) or "")
    if loc is None:
        raise NoSuchTicket(ticket_id)
    return loc


def authorize_issue(ctx: AppContext, device: Actor, location: str) -> Location:
    loc = ctx.location(location)
    require(device, ISSUE_ROLES, location=loc.id)
    return loc


def walk_in_queue_of(loc: Location, queue_id: str) -> str:
    """A queue anyone can join now; appointment queues are joined by checking in."""
    queue = queue_of(loc, queue_id)
    if loc.queue_by_id[queue].appointments is not None:
        raise AppointmentsOnly(
            f"Queue {queue} takes appointments only: check in with the booking code instead.",
            field="queue",
        )
    return queue


async def issue(
    ctx: AppContext, device: Actor, loc: Location, queue: str, idem: Idempotency | None
) -> Outcome:
    queue = walk_in_queue_of(loc, queue)
    # Terminals follow the opening hours; staff may still issue for people already inside.
    closed = device.role == "terminal" and not snapshot.is_open(ctx.office, loc, ctx.clock())
    outcome = await ctx.store.issue(loc.id, queue, device.id, idem, closed=closed, actor=device)
    if not outcome.replayed:
        ctx.metrics.tickets_issued.labels(loc.id, queue).inc()
        outcome = await note_estimate(ctx.store, loc, outcome, ctx.clock())
    return outcome


async def note_estimate(store: Store, loc: Location, outcome: Outcome, now: datetime) -> Outcome:
    """Remember a new ticket's estimate on it: when it is called, estimate and actual wait
    calibrate the ranges shown to everyone. The outcome comes back with the forecast, so
    that the answer to the same request need not play the queues forward again."""
    if outcome.ticket and outcome.location and outcome.position:
        fc = snapshot.forecast(loc, outcome.location, now, store.office.tz)
        # The forecast itself, not the corrected estimate: the correction is learned from
        # how far forecasts were off, so it must not feed on itself.
        forecast_s = fc.raw(outcome.ticket.queue, outcome.position)
        if forecast_s is not None:
            await store.note_estimate(loc.id, outcome.ticket.id, round(forecast_s))
        return dataclasses.replace(outcome, forecast=fc)
    return outcome


def authorize_check_in(ctx: AppContext, device: Actor, location: str) -> Location:
    loc = ctx.location(location)
    require(device, CHECK_IN_ROLES, location=loc.id)
    return loc


async def check_in(
    ctx: AppContext, device: Actor, loc: Location, code_text: str, idem: Idempotency | None
) -> Outcome:
    """The holder of a booking arrives: a ticket in the appointment queue (or, too late,
    in its walk-in queue); the same ticket again when they were checked in already."""
    code = bookings.code_of(code_text)
    digest = appointments.code_hash(code)
    try:
        booking, _ = await ctx.store.booking(loc.id, digest)
    except BookingNotFound:
        elsewhere = await _location_of_booking(ctx, digest)
        if elsewhere is not None:
            raise BookingElsewhere(
                f"This appointment is at {elsewhere.name}, not here.",
                location=elsewhere.id,
                name=elsewhere.name,
            ) from None
        raise
    q = loc.queue_by_id.get(booking.queue)
    if q is None or q.appointments is None:
        raise BookingNotFound(
            "This appointment's concern is no longer offered here; please ask at reception."
        )
    plan = q.appointments
    closed = device.role == "terminal" and not snapshot.is_open(ctx.office, loc, ctx.clock())
    outcome = await ctx.store.check_in(
        loc.id,
        digest,
        device.id,
        early_ms=plan.early_minutes * 60_000,
        late_ms=plan.late_minutes * 60_000,
        walk_in=plan.walk_in_queue,
        closed=closed,
        idem=idem,
        actor=device,
    )
    ticket = outcome.ticket
    if outcome.kind is OutcomeKind.CREATED and not outcome.replayed and ticket:
        ctx.metrics.tickets_issued.labels(loc.id, ticket.queue).inc()
        if ticket.late:
            # A walk-in now; an appointment's wait is its slot, not a forecast to learn.
            outcome = await note_estimate(ctx.store, loc, outcome, ctx.clock())
    return outcome


async def _location_of_booking(ctx: AppContext, digest: str) -> Location | None:
    try:
        loc, _, _ = await ctx.store.find_booking(digest)
    except BookingNotFound:
        return None
    return loc


def authorize_counter(
    ctx: AppContext, device: Actor, location: str, counter: str
) -> tuple[Location, str]:
    loc = ctx.location(location)
    counter = counter_of(loc, counter)
    require(device, COUNTER_ROLES, location=loc.id, counter=counter)
    return loc, counter


async def counter_command(
    ctx: AppContext,
    device: Actor,
    loc: Location,
    counter: str,
    kind: str,
    idem: Idempotency | None,
    reason: PauseReason | None = None,
) -> Outcome:
    """call-next, or open, close, pause (with ``reason``) or resume."""
    if kind == "call-next":
        outcome = await ctx.store.call_next(loc.id, counter, idem, actor=device)
        if outcome.kind is OutcomeKind.DONE and not outcome.replayed:
            ctx.metrics.calls.labels(loc.id, "call").inc()
        return outcome
    return await ctx.store.counter_command(
        loc.id, counter, CounterCommand(kind), reason, idem, actor=device
    )


def authorize_ticket(ctx: AppContext, device: Actor, ticket_id: str, name: str) -> Location:
    _, roles = TICKET_COMMANDS[name]
    loc = location_of(ctx, ticket_id)
    require(device, roles, location=loc.id)
    return loc


async def ticket_command(
    ctx: AppContext,
    device: Actor,
    loc: Location,
    ticket_id: str,
    name: str,
    target: str | None,
    idem: Idempotency | None,
) -> Outcome:
    action, _ = TICKET_COMMANDS[name]
    if action is Action.TRANSFER:
        if target is None:
            raise Unprocessable("Say which queue the ticket goes to.", field="queue")
        target = walk_in_queue_of(loc, target)
    outcome = await ctx.store.act(
        ticket_id,
        action,
        counters=operated_counters(device),
        queue=target,
        idem=idem,
        actor=device,
    )
    if action is Action.RECALL and not outcome.replayed:
        ctx.metrics.calls.labels(loc.id, "recall").inc()
    return outcome
