"""The office behind waitboard's HTTP API, as the simulator's people and advisors meet it.

It is shared with the office's staff and may be away for a while: commands are sent again
under their Idempotency-Key while the server cannot answer, and refusals come back as the
state the engine (:mod:`sensors.engine`) goes on from.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from sensors.engine import CounterView, Json

log = logging.getLogger(__name__)


class SimulationError(Exception):
    """The server refused something the simulation needs (a wrong token, say)."""


@dataclass(frozen=True)
class Patience:
    """How long the simulator keeps sending a command the server cannot answer now (real
    seconds): pauses start at ``first_s`` and double up to ``longest_s`` (or what the
    server's Retry-After asks); a command unanswered for ``give_up_s`` is left, and the
    day goes on without it."""

    first_s: float = 1.0
    longest_s: float = 30.0
    give_up_s: float = 120.0


#: The simulator's patience unless told otherwise.
PATIENCE = Patience()


#: Refusals that are part of an office day (the person goes home), not worth a log line.
_ORDINARY = frozenset({"ticket_stop", "queue_closed"})
#: What a counter's ticket may be while it keeps the counter busy.
_AT_COUNTER = frozenset({"called", "serving"})


class HttpOffice:
    """The office behind the real API, shared with its staff.

    Every command carries an Idempotency-Key and is sent again under it while the server
    is unreachable, unavailable (5xx) or asks to wait (429 and its Retry-After), so a
    command never happens twice. An answer that says someone else acted first (409), that
    a ticket is gone (404) or that the office has changed (422) comes back as the state
    the engine goes on from. Each problem is one log line, without ticket ids or tokens.
    """

    def __init__(
        self, http: httpx.AsyncClient, location: str, patience: Patience = PATIENCE
    ) -> None:
        self.http = http
        self.loc = location
        self.patience = patience

    async def open(self, counter: str) -> CounterView | None:
        path = f"/api/v1/locations/{self.loc}/counters/{counter}/open"
        return _counter_view(await self._post("open", path, counter=counter))

    async def close(self, counter: str) -> CounterView | None:
        path = f"/api/v1/locations/{self.loc}/counters/{counter}/close"
        r = await self._post("close", path, counter=counter)
        if r is not None and _code(r) == "counter_busy":
            return await self.open(counter)  # (see call_next)
        return _counter_view(r)

    async def issue(self, queue: str) -> Json | None:
        r = await self._post("issue", f"/api/v1/locations/{self.loc}/tickets", {"queue": queue})
        ticket = _body(r) if r is not None and r.status_code in (200, 201) else None
        return ticket if ticket and "id" in ticket and "number" in ticket else None

    async def call_next(self, counter: str) -> CounterView | None:
        path = f"/api/v1/locations/{self.loc}/counters/{counter}/call-next"
        r = await self._post("call-next", path, counter=counter)
        if r is None:
            return None
        if r.status_code == 204:
            return CounterView(open=True)
        if r.status_code == 200:
            ticket = _body(r)
            return CounterView(open=True, ticket=ticket) if ticket and "id" in ticket else None
        code = _code(r)
        if code == "counter_closed":
            return CounterView(open=False)
        if code == "counter_busy":
            # Staff called someone here by hand. Opening an open counter changes nothing
            # and answers the counter with its ticket: the API's one read of a counter.
            return await self.open(counter)
        return None

    async def start(self, ticket_id: str, counter: str) -> bool:
        return await self._ticket("start", ticket_id, counter)

    async def complete(self, ticket_id: str, counter: str) -> bool:
        return await self._ticket("complete", ticket_id, counter)

    async def no_show(self, ticket_id: str, counter: str) -> bool:
        return await self._ticket("no-show", ticket_id, counter)

    async def _ticket(self, action: str, ticket_id: str, counter: str) -> bool:
        r = await self._post(action, f"/api/v1/tickets/{ticket_id}/{action}", counter=counter)
        return r is not None and r.status_code == 200

    async def _post(
        self, action: str, path: str, body: Json | None = None, counter: str | None = None
    ) -> httpx.Response | None:
        """The server's answer to one command; None when it gave none within patience.
        401/403 raise :class:`SimulationError`: no pause mends a wrong token."""
        where = {"location": self.loc, "action": action, "counter": counter or "-"}
        key = uuid.uuid4().hex
        deadline = time.monotonic() + self.patience.give_up_s
        pause = self.patience.first_s
        told = False
        while True:
            try:
                r = await self.http.post(path, json=body, headers={"Idempotency-Key": key})
            except httpx.HTTPError as e:  # refused, reset, timed out: it may come back
                why, wait = type(e).__name__, pause
            else:
                status = r.status_code
                if status in (401, 403):
                    raise SimulationError(f"{action}: HTTP {status} {_code(r)}: {_detail(r)}")
                if status != 429 and status < 500:
                    if status >= 400 and _code(r) not in _ORDINARY:
                        log.info(
                            "simulator: refused (someone else acted first, or the office "
                            "changed); going on from the state it has",
                            extra={**where, "status": status, "code": _code(r)},
                        )
                    return r
                why = f"HTTP {status}"
                asked = _retry_after(r)
                wait = asked if status == 429 and asked else max(pause, asked)
            if time.monotonic() + wait > deadline:
                log.warning("simulator: no answer; left", extra={**where, "reason": why})
                return None
            if not told:
                log.warning(
                    "simulator: no answer; sending again",
                    extra={**where, "reason": why, "again_in_s": round(wait, 1)},
                )
                told = True
            await asyncio.sleep(wait)
            pause = min(pause * 2, self.patience.longest_s)


def _body(r: httpx.Response) -> Json | None:
    try:
        data = r.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _code(r: httpx.Response) -> str:
    body = _body(r) if r.status_code >= 400 else None
    return str(body.get("code", "")) if body else ""


def _detail(r: httpx.Response) -> str:
    body = _body(r)
    return str(body.get("detail", ""))[:200] if body else ""


def _retry_after(r: httpx.Response) -> float:
    """Seconds from a Retry-After header (seconds or an HTTP date); 0 when absent."""
    value = r.headers.get("retry-after", "").strip()
    if value.isdecimal():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return 0.0
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _counter_view(r: httpx.Response | None) -> CounterView | None:
    body = _body(r) if r is not None and r.status_code == 200 else None
    if body is None or "open" not in body:
        return None
    ticket = body.get("ticket")
    busy = isinstance(ticket, dict) and ticket.get("status") in _AT_COUNTER
    return CounterView(open=bool(body["open"]), ticket=ticket if busy else None)
