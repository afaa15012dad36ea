"""The tickets of a location in Redis: issuing, calling, acting on one, the counters and
door counts that decide who is called, and the reads of the staff pages and the phones.

A ticket id names its location (and so its hash slot): any process can find a ticket from
its id alone.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from waitboard.core import pauses
from waitboard.core.domain import Action
from waitboard.core.errors import NoSuchTicket, Unavailable
from waitboard.core.pauses import CounterCommand, PauseReason
from waitboard.core.staff import Actor
from waitboard.core.state import LocationState, TicketRecord
from waitboard.store.idempotency import Idempotency
from waitboard.store.location_scripts import LocationScripts
from waitboard.store.outcomes import Outcome

log = logging.getLogger(__name__)


def new_ticket_id(location: str) -> str:
    """``t_<location>_<128 random bits>``: unguessable, and it names its hash slot."""
    return f"t_{location}_{secrets.token_urlsafe(16)}"


def location_of_ticket(ticket_id: str) -> str | None:
    """The location a ticket id belongs to, or None when it is not a ticket id at all."""
    if not ticket_id.startswith("t_") or len(ticket_id) > 120:
        return None
    location, sep, rest = ticket_id[2:].partition("_")
    return location if sep and location and len(rest) >= 16 else None


#: What :meth:`Store.act` does; calling is call_next's, closing the day roll_day's.
TICKET_ACTIONS = frozenset(
    {Action.RECALL, Action.START, Action.COMPLETE, Action.NO_SHOW, Action.CANCEL, Action.TRANSFER}
)


@dataclass(frozen=True, slots=True)
class WaitingTicket:
    id: str
    number: str
    queued_at: int
    issued_at: int
    transfers: int


class TicketCommands(LocationScripts):
    """The commands and reads of tickets (part of :class:`~waitboard.store.office_store.Store`)."""

    async def issue(
        self,
        location: str,
        queue: str,
        device: str,
        idem: Idempotency | None = None,
        *,
        closed: bool = False,
        actor: Actor | None = None,
    ) -> Outcome:
        """A new ticket. ``closed``: refuse it (QueueClosed) unless this is a replay - the check
        runs inside the script, after the Idempotency-Key lookup."""
        loc = self.office.location_by_id[location]
        q = loc.queue_by_id[queue]
        args: dict[str, Any] = {
            "queue": queue,
            "ticket_id": new_ticket_id(location),
            "device": device,
        }
        if q.max_waiting is not None:
            args["max_waiting"] = q.max_waiting
        if closed:
            args["closed"] = True
        return await self._command("issue", loc, args, idem, actor)

    async def note_estimate(self, location: str, ticket_id: str, estimate_s: int) -> None:
        """Remember a new ticket's estimate (for calibrating ranges). Best effort: a lost
        note only means one pair fewer in the calibration."""
        loc = self.office.location_by_id[location]
        try:
            await self._eval("note_estimate", loc, {"ticket_id": ticket_id, "est": estimate_s})
        except Unavailable:
            log.warning("could not note an estimate", extra={"location": location})

    async def call_next(
        self,
        location: str,
        counter: str,
        idem: Idempotency | None = None,
        *,
        actor: Actor | None = None,
    ) -> Outcome:
        loc = self.office.location_by_id[location]
        args = {
            "counter": counter,
            "preferences": list(loc.layout.counters[counter]),
            "call_id": "c_" + secrets.token_urlsafe(9),
        }
        return await self._command("call_next", loc, args, idem, actor)

    async def act(
        self,
        ticket_id: str,
        action: Action,
        *,
        counters: Sequence[str] | None,
        queue: str | None = None,
        idem: Idempotency | None = None,
        actor: Actor | None = None,
    ) -> Outcome:
        """recall, start, complete, no_show, cancel or transfer (to ``queue``).

        ``counters``: the counters the device operates; None means any (reception, admin).
        ``actor``: who acts, for the audit (here and in every command).
        """
        if action not in TICKET_ACTIONS:
            raise ValueError(f"{action} is not an action on a single ticket")
        location = location_of_ticket(ticket_id)
        loc = self.office.location_by_id.get(location or "")
        if loc is None:
            raise NoSuchTicket(ticket_id)
        args: dict[str, Any] = {
            "ticket_id": ticket_id,
            "action": action.value,
            "counters": "*" if counters is None else list(counters),
        }
        if queue is not None:
            args["queue"] = queue
        return await self._command("ticket_action", loc, args, idem, actor)

    async def set_counter(
        self,
        location: str,
        counter: str,
        open_: bool,
        idem: Idempotency | None = None,
        *,
        actor: Actor | None = None,
    ) -> Outcome:
        command = CounterCommand.OPEN if open_ else CounterCommand.CLOSE
        return await self.counter_command(location, counter, command, idem=idem, actor=actor)

    async def counter_command(
        self,
        location: str,
        counter: str,
        command: CounterCommand,
        reason: PauseReason | None = None,
        idem: Idempotency | None = None,
        *,
        actor: Actor | None = None,
    ) -> Outcome:
        """Open, close, pause (with ``reason``) or resume a counter (counter.lua)."""
        if (command is CounterCommand.PAUSE) != (reason is not None):
            raise ValueError("a pause, and only a pause, has a reason")
        loc = self.office.location_by_id[location]
        args: dict[str, Any] = {"counter": counter, "action": command.value}
        if reason is not None:
            args["reason"] = reason.value
        # What a pause that ends here may teach: its reason's prior and the bound past
        # which it was forgotten (core/pauses.py's rule, played by counter.lua).
        args["pause_rule"] = {
            "priors": {r.value: pauses.prior_s(r, loc.pause_minutes) for r in PauseReason},
            "weight": pauses.PRIOR_WEIGHT,
            "forgotten": pauses.FORGOTTEN_FACTOR,
        }
        return await self._command("counter", loc, args, idem, actor)

    async def set_occupancy(
        self, location: str, zone: str, count: int, idem: Idempotency | None = None
    ) -> Outcome:
        loc = self.office.location_by_id[location]
        return await self._command("occupancy", loc, {"zone": zone, "count": count}, idem)

    # --- reads ------------------------------------------------------------------------------

    async def ticket(self, ticket_id: str) -> tuple[TicketRecord, int | None, LocationState]:
        location = location_of_ticket(ticket_id)
        loc = self.office.location_by_id.get(location or "")
        if loc is None:
            raise NoSuchTicket(ticket_id)
        out = await self._eval("ticket", loc, {"ticket_id": ticket_id}, read=True)
        if "error" in out:  # (ticket_not_found: the only refusal of a read)
            raise NoSuchTicket(ticket_id, " (tickets are kept for two days after they end)")
        return (
            TicketRecord.parse(out["ticket"]),
            out.get("position"),
            LocationState.parse(out["location"]),
        )

    async def waiting(self, location: str, limit: int = 200) -> dict[str, list[WaitingTicket]]:
        """The waiting tickets of every queue in call order (at most ``limit`` each)."""
        loc = self.office.location_by_id[location]
        out = await self._eval("waiting", loc, {"limit": limit}, read=True)
        return {
            q: [
                WaitingTicket(
                    id=str(r["id"]),
                    number=str(r["number"]),
                    queued_at=int(r["queued_at"]),
                    issued_at=int(r["issued_at"]),
                    transfers=int(r.get("transfers") or 0),
                )
                for r in (out.get(q) or [])
            ]
            for q in loc.layout.queues
        }

    async def day_figures(
        self, location: str, day: str
    ) -> tuple[dict[str, float], dict[str, list[float]]]:
        """One day's counters and sums, and every wait per queue (seconds)."""
        loc = self.office.location_by_id[location]
        out = await self._eval("stats", loc, {"date": day}, read=True)
        counts = {str(k): float(v) for k, v in (out.get("counts") or {}).items()}
        waits = {q: [float(w) for w in ws] for q, ws in (out.get("waits") or {}).items()}
        return counts, waits
