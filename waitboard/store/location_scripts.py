"""The scripts of a location: how a command or a read of one location reaches Redis.

Every command is one Lua script, every read one round trip. The store speaks in ids and
values, not HTTP: it raises :mod:`waitboard.core.errors` and returns
:class:`~waitboard.store.outcomes.Outcome` / :class:`~waitboard.core.state.LocationState`.
The parts of the store (tickets, bookings, sessions) build on this class.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Sequence
from typing import Any

import orjson
from redis import exceptions as rx
from redis.asyncio import Redis

from waitboard.core.audit import by, keep_ms
from waitboard.core.clock import Clock, system_clock, to_ms
from waitboard.core.domain import service_day
from waitboard.core.errors import Unavailable
from waitboard.core.office import Location, Office
from waitboard.core.refusals import refusal
from waitboard.core.staff import Actor
from waitboard.core.state import Booking, LocationState, TicketRecord
from waitboard.store import keys, scripts
from waitboard.store.idempotency import Idempotency
from waitboard.store.outcomes import Outcome, kind_of
from waitboard.store.redis import DEADLINE_S, register_scripts, run_script


class LocationScripts:
    """``redis`` carries the commands; ``reads`` (its own pool, by default the same client)
    carries reads and the hub's subscription, so public load cannot starve the commands."""

    def __init__(
        self,
        redis: Redis,
        office: Office,
        clock: Clock = system_clock,
        reads: Redis | None = None,
        wait_replicas: int = 0,
    ) -> None:
        self.redis = redis
        self.reads = reads or redis
        # With replicas (Sentinel), a command is acknowledged only once this many replicas
        # have it: a failover cannot lose an acknowledged ticket or reissue its number.
        self.wait_replicas = wait_replicas
        self.office = office
        self.clock = clock
        self._scripts = register_scripts(redis, scripts.COMMANDS)
        self._layouts = {
            loc.id: {
                "queues": list(loc.layout.queues),
                "counter_ids": list(loc.layout.counters),
                "counters": {c: list(qs) for c, qs in loc.layout.counters.items()},
                "appointments": {
                    q.id: {"call_ahead_ms": q.appointments.call_ahead_minutes * 60_000}
                    for q in loc.queues
                    if q.appointments
                },
            }
            for loc in office.locations
        }
        # Every script of a location gets the same keys (keys/locations.py says how): built once.
        self._own_keys = {loc.id: keys.location_keys(loc.id) for loc in office.locations}
        self._layout_keys = {
            loc.id: keys.layout_keys(loc.id, loc.layout.queues, list(loc.layout.counters))
            for loc in office.locations
        }
        self._templates = {loc.id: keys.location_templates(loc.id) for loc in office.locations}

    # --- the location as a whole --------------------------------------------------------------

    async def roll_day(self, location: str) -> LocationState:
        """Create the location if new and start a new service day if midnight passed."""
        loc = self.office.location_by_id[location]
        return LocationState.parse(await self._eval("roll_day", loc, {}))

    async def location_state(self, location: str) -> LocationState:
        loc = self.office.location_by_id[location]
        return LocationState.parse(await self._eval("snapshot", loc, {}, read=True))

    async def seqs(self, locations: Sequence[str]) -> dict[str, tuple[str, int]]:
        """(epoch, seq) of many locations in one pipeline: cheap drift detection."""
        async with self.reads.pipeline(transaction=False) as pipe:
            for location in locations:
                pipe.hmget(keys.meta(location), "epoch", "seq")
            try:
                async with asyncio.timeout(DEADLINE_S):
                    rows = await pipe.execute()
            except (TimeoutError, rx.ConnectionError, rx.TimeoutError) as e:
                raise Unavailable("Redis is not reachable.") from e
        return {
            location: ((epoch or b"").decode(), int(seq or 0))
            for location, (epoch, seq) in zip(locations, rows, strict=True)
        }

    async def ping(self) -> bool:
        try:
            async with asyncio.timeout(DEADLINE_S):
                return bool(await self.reads.ping())
        except (TimeoutError, rx.ConnectionError, rx.TimeoutError, rx.BusyLoadingError, OSError):
            return False

    # --- plumbing ---------------------------------------------------------------------------

    async def _command(
        self,
        name: str,
        loc: Location,
        args: dict[str, Any],
        idem: Idempotency | None,
        actor: Actor | None = None,
    ) -> Outcome:
        """One command; ``actor``: who gives it, as the audit records it (None: the
        service itself, e.g. a simulation)."""
        args["by"] = by(actor)
        if idem is not None:
            args["fingerprint"] = idem.fingerprint
        out = await self._eval(name, loc, args, idem.key if idem else None)
        if "error" in out:
            raise refusal(self.office, loc, self.clock(), out)
        ticket = TicketRecord.parse(out["ticket"]) if out.get("ticket") else None
        return Outcome(
            kind=kind_of(out),
            ticket=ticket,
            position=out.get("position"),
            location=LocationState.parse(out["location"]) if out.get("location") else None,
            counter=out.get("counter"),
            replayed=bool(out.get("replayed")),
            booking=Booking.parse(out["booking"]) if out.get("booking") else None,
        )

    async def _eval(
        self,
        name: str,
        loc: Location,
        args: dict[str, Any],
        idem_key: str | None = None,
        *,
        read: bool = False,
    ) -> dict[str, Any]:
        now = self.clock()
        local = now.astimezone(self.office.tz)
        payload = {
            "now": to_ms(now),
            "day": service_day(now, self.office.tz).isoformat(),
            "hour": f"{local.hour:02d}",
            "epoch": "e_" + secrets.token_urlsafe(6),
            "layout": self._layouts[loc.id],
            "channel": keys.channel(loc.id),
            "templates": self._templates[loc.id],
            "audit_keep_ms": keep_ms(self.office.audit_days),
            **args,
        }
        # (lib.lua: the Idempotency-Key record is there when the arguments name a
        # fingerprint, which _command adds with it.)
        script_keys = [
            *self._own_keys[loc.id],
            *([idem_key] if idem_key else []),
            *self._layout_keys[loc.id],
        ]
        raw = await run_script(
            name,
            self._scripts[name],
            script_keys,
            payload,
            self.reads if read else self.redis,
            0 if read else self.wait_replicas,
        )
        result: dict[str, Any] = orjson.loads(raw)
        return result
