"""Redis access: every command is one Lua script; every read is one round trip.

The store speaks in ids and values, not HTTP: it raises :mod:`waitboard.core.errors` and returns
:class:`Outcome` / :class:`~waitboard.core.state.LocationState`. Redis being unreachable becomes
:class:`~waitboard.core.errors.Unavailable` with a message that says whether the command may
have run.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import orjson
from redis import exceptions as rx
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript

from waitboard.core.clock import Clock, system_clock, to_ms
from waitboard.core.domain import Action, service_day
from waitboard.core.errors import BookingNotFound, NoSuchTicket, Unavailable
from waitboard.core.office import Location, Office
from waitboard.core.refusals import refusal
from waitboard.core.state import Booking, LocationState, TicketRecord
from waitboard.store import keys, scripts

if TYPE_CHECKING:
    from waitboard.core.snapshot import Forecast

log = logging.getLogger(__name__)

#: Requests must fail fast when Redis is gone or hangs (screens show their stale banner
#: instead): every call ends within this, waiting for a connection included.
DEADLINE_S = 2.0
SOCKET_TIMEOUT_S = 2.0
CONNECT_TIMEOUT_S = 1.0


def connect(url: str, *, password: str | None = None, max_connections: int = 64) -> Redis:
    """A client for commands.

    It never retries by itself: a retried EVALSHA after a timeout could issue a ticket
    twice; clients retry with their Idempotency-Key instead. When all connections are busy
    a request waits for one (up to the socket timeout) rather than failing at once.
    ``redis+sentinel://host:26379,host:26379/service[/db]`` finds the master through
    Redis Sentinel and follows it through failovers.
    """
    if url.startswith("redis+sentinel://"):
        return _sentinel_master(url, password, max_connections)
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=SOCKET_TIMEOUT_S,
        retry=Retry(NoBackoff(), 0),
        socket_timeout=SOCKET_TIMEOUT_S,
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        **({"password": password} if password else {}),
    )
    return Redis.from_pool(pool)


def _sentinel_master(url: str, password: str | None, max_connections: int) -> Redis:
    parts = urlsplit(url)
    hosts = []
    for item in parts.netloc.rsplit("@", 1)[-1].split(","):
        host, _, port = item.rpartition(":")
        hosts.append((host or item, int(port) if port else 26379))
    path = [p for p in parts.path.split("/") if p]
    if not path:
        raise ValueError(f"{url}: name the Sentinel service, e.g. redis+sentinel://h:26379/wb")
    password = password or parts.password
    options: dict[str, Any] = {
        "socket_timeout": SOCKET_TIMEOUT_S,
        "socket_connect_timeout": CONNECT_TIMEOUT_S,
    }
    sentinel = Sentinel(
        hosts,
        sentinel_kwargs={**options, "password": password},  # type: ignore[no-untyped-call]
        **options,
    )
    master: _SentinelMaster = sentinel.master_for(
        path[0],
        redis_class=_SentinelMaster,
        retry=Retry(NoBackoff(), 0),
        password=password,
        db=int(path[1]) if len(path) > 1 else 0,
        max_connections=max_connections,
    )
    master.finder = sentinel
    return master


class _SentinelMaster(Redis):
    """The master's client. Closing it also closes the connections to the Sentinels, which
    redis-py's Sentinel keeps open for finding the master and never closes by itself."""

    finder: Sentinel | None = None  # set by _sentinel_master

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await super().aclose(close_connection_pool)
        for client in self.finder.sentinels if self.finder else ():
            await client.aclose()


async def run_script(
    name: str,
    script: AsyncScript,
    script_keys: list[str],
    payload: dict[str, Any],
    client: Redis,
    wait_replicas: int = 0,
) -> Any:
    """One Lua script within the deadline (after ``wait_replicas`` replicas have it, when
    asked); Redis failing becomes :class:`Unavailable`, saying whether it may have run."""
    try:
        async with asyncio.timeout(DEADLINE_S):
            if wait_replicas:
                return await run_replicated(client, script, script_keys, payload, wait_replicas)
            return await script(keys=script_keys, args=[orjson.dumps(payload)], client=client)
    except (TimeoutError, rx.TimeoutError) as e:
        raise Unavailable(
            "Redis did not answer in time; the request may or may not have been carried "
            "out. Retry with the same Idempotency-Key to be sure it happens once."
        ) from e
    except (rx.ConnectionError, rx.BusyLoadingError, OSError) as e:
        # The connection may have broken after the script reached Redis: only the
        # Idempotency-Key can tell. Not reached at all is the common case.
        raise Unavailable(
            "Redis is not reachable right now. Try again in a moment; retry with the "
            "same Idempotency-Key, so that a request that did go through is not carried "
            "out twice."
        ) from e
    except rx.ResponseError as e:
        # MISCONF (disk full), READONLY (failover in progress) and the like. Only the
        # kind of refusal is logged: the message may quote the script's arguments.
        log.error(
            "redis refused a script", extra={"script": name, "error": str(e).split(" ", 1)[0][:40]}
        )
        raise Unavailable(
            "Redis refused the change; nothing was changed. Try again in a moment."
        ) from e


async def run_replicated(
    redis: Redis,
    script: AsyncScript,
    script_keys: list[str],
    payload: dict[str, Any],
    wait_replicas: int,
) -> Any:
    """A script acknowledged only once ``wait_replicas`` replicas have it: the script and
    WAIT on one connection (WAIT covers that connection's writes), so a failover cannot
    lose what was acknowledged."""
    async with redis.pipeline(transaction=False) as pipe:
        await script(keys=script_keys, args=[orjson.dumps(payload)], client=pipe)
        pipe.wait(wait_replicas, int(DEADLINE_S * 500))
        raw, replicas = await pipe.execute()
    if int(replicas) < wait_replicas:
        raise Unavailable(
            f"Only {replicas} of {wait_replicas} Redis replicas confirmed the change in "
            "time; it may or may not last. Retry with the same Idempotency-Key."
        )
    return raw


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
class Outcome:
    """What a successful command did."""

    status: int  # 200, 201 or 204
    location: LocationState | None
    ticket: TicketRecord | None = None
    position: int | None = None
    counter: str | None = None
    replayed: bool = False
    booking: Booking | None = None  # a check-in's booking
    forecast: Forecast | None = None  # the new ticket's, once computed (commands)


@dataclass(frozen=True, slots=True)
class WaitingTicket:
    id: str
    number: str
    queued_at: int
    issued_at: int
    transfers: int


@dataclass(frozen=True, slots=True)
class Idempotency:
    key: str  # the Redis key (scoped per device)
    fingerprint: str  # sha256 of method, path and body

    @staticmethod
    def fingerprint_of(method: str, path: str, canonical: bytes) -> str:
        """Identifies a request for Idempotency-Key reuse: the same method, address and
        (canonical) body - the same meaning - give the same fingerprint."""
        return hashlib.sha256(
            method.encode() + b" " + path.encode() + b"\n" + canonical
        ).hexdigest()


class Store:
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
        self._scripts: dict[str, AsyncScript] = {
            name: redis.register_script(scripts.source(name)) for name in scripts.COMMANDS
        }
        self._layouts = {
            loc.id: {
                "queues": list(loc.layout.queues),
                "counters": {c: list(qs) for c, qs in loc.layout.counters.items()},
                "appointments": {
                    q.id: {"call_ahead_ms": q.appointments.call_ahead_minutes * 60_000}
                    for q in loc.queues
                    if q.appointments
                },
            }
            for loc in office.locations
        }

    # --- commands ---------------------------------------------------------------------------

    async def issue(
        self,
        location: str,
        queue: str,
        device: str,
        idem: Idempotency | None = None,
        *,
        closed: bool = False,
    ) -> Outcome:
        """A new ticket. ``closed``: refuse it (409) unless this is a replay - the check
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
        return await self._command("issue", loc, args, idem)

    async def note_estimate(self, location: str, ticket_id: str, estimate_s: int) -> None:
        """Remember a new ticket's estimate (for calibrating ranges). Best effort: a lost
        note only means one pair fewer in the calibration."""
        loc = self.office.location_by_id[location]
        try:
            await self._eval("note_estimate", loc, {"ticket_id": ticket_id, "est": estimate_s})
        except Unavailable:
            log.warning("could not note an estimate", extra={"location": location})

    async def call_next(
        self, location: str, counter: str, idem: Idempotency | None = None
    ) -> Outcome:
        loc = self.office.location_by_id[location]
        args = {
            "counter": counter,
            "preferences": list(loc.layout.counters[counter]),
            "call_id": "c_" + secrets.token_urlsafe(9),
        }
        return await self._command("call_next", loc, args, idem)

    async def act(
        self,
        ticket_id: str,
        action: Action,
        *,
        counters: Sequence[str] | None,
        queue: str | None = None,
        idem: Idempotency | None = None,
    ) -> Outcome:
        """recall, start, complete, no_show, cancel or transfer (to ``queue``).

        ``counters``: the counters the device operates; None means any (reception, admin).
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
        return await self._command("ticket_action", loc, args, idem)

    async def set_counter(
        self, location: str, counter: str, open_: bool, idem: Idempotency | None = None
    ) -> Outcome:
        loc = self.office.location_by_id[location]
        return await self._command("counter", loc, {"counter": counter, "open": open_}, idem)

    async def set_occupancy(
        self, location: str, zone: str, count: int, idem: Idempotency | None = None
    ) -> Outcome:
        loc = self.office.location_by_id[location]
        return await self._command("occupancy", loc, {"zone": zone, "count": count}, idem)

    # --- appointments -----------------------------------------------------------------------

    async def book(
        self,
        location: str,
        queue: str,
        slot_ms: int,
        slot_day: str,
        code_hash: str,
        keep_until_ms: int,
        *,
        contact: str | None = None,
        contact_until_ms: int = 0,
        request: str | None = None,
        client: str | None = None,
    ) -> tuple[Booking, bool]:
        """A place in a slot: (the booking, whether it was there already for this request).
        ``request``: the fingerprint of a booking made under an Idempotency-Key; ``client``:
        the digest of the client that key is bound to (the same key from another client is
        refused, 409 idempotency_key_in_use)."""
        loc = self.office.location_by_id[location]
        q = loc.queue_by_id[queue]
        assert q.appointments is not None
        args: dict[str, Any] = {
            "queue": queue,
            "slot": slot_ms,
            "slot_day": slot_day,
            "capacity": q.appointments.capacity,
            "code_hash": code_hash,
            "keep_until": keep_until_ms,
        }
        if request is not None:
            args["request"] = request
        if client:  # (none: a booking no retry can find again; book.lua never replays it)
            args["client"] = client
        if contact:
            args["contact"] = contact
            args["contact_until"] = contact_until_ms
        out = await self._eval("book", loc, args)
        if int(out["status"]) >= 400:
            raise refusal(self.office, loc, self.clock(), out)
        return Booking.parse(out["booking"]), bool(out.get("replayed"))

    async def move_booking(
        self,
        location: str,
        code_hash: str,
        *,
        slot_ms: int | None = None,
        slot_day: str = "",
        capacity: int = 0,
        keep_until_ms: int = 0,
        contact_until_ms: int = 0,
    ) -> Booking:
        """Move a booking to another slot of its queue, or cancel it (``slot_ms`` None)."""
        loc = self.office.location_by_id[location]
        args: dict[str, Any] = {"code_hash": code_hash}
        if slot_ms is None:
            args["cancel"] = True
        else:
            args.update(
                slot=slot_ms,
                slot_day=slot_day,
                capacity=capacity,
                keep_until=keep_until_ms,
                contact_until=contact_until_ms,
            )
        out = await self._eval("move_booking", loc, args)
        if int(out["status"]) >= 400:
            raise refusal(self.office, loc, self.clock(), out)
        return Booking.parse(out["booking"])

    async def booking(self, location: str, code_hash: str) -> tuple[Booking, dict[str, str]]:
        """A booking and, once checked in, its ticket's status and number."""
        loc = self.office.location_by_id[location]
        out = await self._eval("booking", loc, {"code_hash": code_hash}, read=True)
        if out["status"] == 404:
            raise BookingNotFound("There is no appointment with this code.")
        return Booking.parse(out["booking"]), dict(out.get("ticket") or {})

    async def find_booking(self, code_hash: str) -> tuple[Location, Booking, dict[str, str]]:
        """The booking of a code at whichever location took it."""
        for loc in self.office.locations:
            if loc.appointment_queues:
                try:
                    booking, ticket = await self.booking(loc.id, code_hash)
                except BookingNotFound:
                    continue
                return loc, booking, ticket
        raise BookingNotFound(
            "There is no appointment with this code. Check the code on "
            "your confirmation; a code is eight letters and digits."
        )

    async def slot_counts(
        self, location: str, queue: str, days: Sequence[str]
    ) -> dict[str, dict[int, int]]:
        """Places taken per slot start (ms), for each of ``days``."""
        loc = self.office.location_by_id[location]
        out = await self._eval("slot_counts", loc, {"queue": queue, "days": list(days)}, read=True)
        return {day: {int(k): int(v) for k, v in (out.get(day) or {}).items()} for day in days}

    async def day_bookings(self, location: str, day: str) -> list[Booking]:
        loc = self.office.location_by_id[location]
        out = await self._eval("day_bookings", loc, {"date": day}, read=True)
        rows = out.get("bookings") or []
        return [Booking.parse(r) for r in (rows if isinstance(rows, list) else [])]

    async def check_in(
        self,
        location: str,
        code_hash: str,
        device: str,
        *,
        early_ms: int,
        late_ms: int,
        walk_in: str,
        closed: bool = False,
        idem: Idempotency | None = None,
    ) -> Outcome:
        """A ticket for the holder of a booking (the same one again if already checked in).
        The window and walk-in queue are those of the booking queue's plan. ``closed``: a
        late arrival is refused (409), as a walk-in would be at a terminal out of hours."""
        loc = self.office.location_by_id[location]
        args: dict[str, Any] = {
            "code_hash": code_hash,
            "ticket_id": new_ticket_id(location),
            "device": device,
            "early_ms": early_ms,
            "late_ms": late_ms,
            "walk_in": walk_in,
        }
        max_waiting = loc.queue_by_id[walk_in].max_waiting
        if max_waiting is not None:
            args["max_waiting"] = max_waiting
        if closed:
            args["closed"] = True
        outcome = await self._command("check_in", loc, args, idem)
        return outcome

    async def roll_day(self, location: str) -> LocationState:
        """Create the location if new and start a new service day if midnight passed."""
        loc = self.office.location_by_id[location]
        return LocationState.parse(await self._eval("roll_day", loc, {}))

    # --- reads ------------------------------------------------------------------------------

    async def location_state(self, location: str) -> LocationState:
        loc = self.office.location_by_id[location]
        return LocationState.parse(await self._eval("snapshot", loc, {}, read=True))

    async def ticket(self, ticket_id: str) -> tuple[TicketRecord, int | None, LocationState]:
        location = location_of_ticket(ticket_id)
        loc = self.office.location_by_id.get(location or "")
        if loc is None:
            raise NoSuchTicket(ticket_id)
        out = await self._eval("ticket", loc, {"ticket_id": ticket_id}, read=True)
        if out["status"] == 404:
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

    async def revoke_session(self, digest: str, ttl_s: int) -> None:
        try:
            await self.redis.set(keys.revoked_session(digest), "1", ex=ttl_s)
        except (rx.ConnectionError, rx.TimeoutError, OSError) as e:
            raise Unavailable(
                "Redis is not reachable; the logout did not go through. Try again in a moment."
            ) from e

    async def session_revoked(self, digest: str) -> bool:
        try:
            return bool(await self.reads.exists(keys.revoked_session(digest)))
        except (rx.ConnectionError, rx.TimeoutError, OSError) as e:
            raise Unavailable("Redis is not reachable.") from e

    async def ping(self) -> bool:
        try:
            async with asyncio.timeout(DEADLINE_S):
                return bool(await self.reads.ping())
        except (TimeoutError, rx.ConnectionError, rx.TimeoutError, rx.BusyLoadingError, OSError):
            return False

    # --- plumbing ---------------------------------------------------------------------------

    async def _command(
        self, name: str, loc: Location, args: dict[str, Any], idem: Idempotency | None
    ) -> Outcome:
        if idem is not None:
            args["fingerprint"] = idem.fingerprint
        out = await self._eval(name, loc, args, idem.key if idem else None)
        status = int(out["status"])
        if status >= 400:
            raise refusal(self.office, loc, self.clock(), out)
        ticket = TicketRecord.parse(out["ticket"]) if out.get("ticket") else None
        return Outcome(
            status=status,
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
            "prefix": keys.prefix(loc.id),
            "now": to_ms(now),
            "day": service_day(now, self.office.tz).isoformat(),
            "hour": f"{local.hour:02d}",
            "epoch": "e_" + secrets.token_urlsafe(6),
            "layout": self._layouts[loc.id],
            **args,
        }
        script_keys = [keys.meta(loc.id)] + ([idem_key] if idem_key else [])
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
