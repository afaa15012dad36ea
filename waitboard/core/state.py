"""The live state of a location as the Lua scripts return it, as plain values.

Parsing lives here so that every reader (store, hub, pages) sees the same types; building
the public shapes from them is :mod:`waitboard.core.snapshot`'s job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from waitboard.core.domain import TicketStatus
from waitboard.core.pauses import CounterMode, PauseReason, parse_reason


def _int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    return int(float(value))


def _str(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


@dataclass(frozen=True, slots=True)
class TicketRecord:
    id: str
    number: str
    queue: str
    status: TicketStatus
    issued_at: int
    queued_at: int
    called_at: int | None = None
    started_at: int | None = None
    closed_at: int | None = None
    counter: str | None = None
    recall: int = 0
    transfers: int = 0
    slot_at: int | None = None  # checked in for the appointment at this time
    late: bool = False  # ...but came too late for it: waits in the walk-in queue

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> TicketRecord:
        return cls(
            id=str(raw["id"]),
            number=str(raw["number"]),
            queue=str(raw["queue"]),
            status=TicketStatus(raw["status"]),
            issued_at=_int(raw.get("issued_at")) or 0,
            queued_at=_int(raw.get("queued_at")) or _int(raw.get("issued_at")) or 0,
            called_at=_int(raw.get("called_at")),
            started_at=_int(raw.get("started_at")),
            closed_at=_int(raw.get("closed_at")),
            counter=_str(raw.get("counter")),
            recall=_int(raw.get("recall")) or 0,
            transfers=_int(raw.get("transfers")) or 0,
            slot_at=_int(raw.get("slot_at")),
            late=_int(raw.get("late")) == 1,
        )


@dataclass(frozen=True, slots=True)
class Call:
    id: str
    ticket_id: str
    number: str
    queue: str
    counter: str
    called_at: int
    recall: int

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Call:
        return cls(
            id=str(raw["id"]),
            ticket_id=str(raw["ticket_id"]),
            number=str(raw["number"]),
            queue=str(raw["queue"]),
            counter=str(raw["counter"]),
            called_at=_int(raw["called_at"]) or 0,
            recall=_int(raw.get("recall")) or 0,
        )


@dataclass(frozen=True, slots=True)
class QueueState:
    waiting: int
    head_queued_at: int | None  # when the first in line joined this queue

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> QueueState:
        return cls(
            waiting=int(raw.get("waiting", 0)), head_queued_at=_int(raw.get("head_queued_at"))
        )


@dataclass(frozen=True, slots=True)
class CounterState:
    open: bool  # serving (a paused counter is not open)
    ticket: TicketRecord | None  # called or being served here
    paused: PauseReason | None = None  # paused for this reason (then not open)
    paused_at: int | None = None  # ... since (ms)

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> CounterState:
        return cls(
            open=bool(raw.get("open")),
            ticket=_brief(raw["ticket"]) if raw.get("ticket") else None,
            paused=parse_reason(raw.get("paused")),
            paused_at=_int(raw.get("paused_at")),
        )

    @property
    def mode(self) -> CounterMode:
        if self.paused is not None:
            return CounterMode.PAUSED
        return CounterMode.OPEN if self.open else CounterMode.CLOSED


@dataclass(frozen=True, slots=True)
class AppointmentsToday:
    """An appointment queue today: the slots (ms) of those waiting, in call order, and the
    bookings still expected as (slot ms, people)."""

    waiting_slots: tuple[int, ...] = ()
    expected: tuple[tuple[int, int], ...] = ()

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> AppointmentsToday:
        return cls(
            waiting_slots=tuple(int(s) for s in (raw.get("slots") or [])),
            expected=tuple((int(s), int(n)) for s, n in (raw.get("expected") or [])),
        )


@dataclass(frozen=True, slots=True)
class Booking:
    queue: str
    day: str
    slot_ms: int
    status: str  # booked | arrived | cancelled
    ticket_id: str | None = None
    number: str | None = None
    late: bool = False
    booked_at: int = 0
    contact: str | None = None  # only in the staff's list
    ticket_status: str | None = None
    request: str | None = None  # the digest of a booking made under an Idempotency-Key
    client: str | None = None  # ...and the digest of the client that key is bound to
    lang: str | None = None  # the language it was booked in (none: booked before languages)

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Booking:
        return cls(
            queue=str(raw["queue"]),
            day=str(raw["day"]),
            slot_ms=_int(raw["slot"]) or 0,
            status=str(raw["status"]),
            ticket_id=_str(raw.get("ticket")),
            number=_str(raw.get("number")),
            late=_int(raw.get("late")) == 1,
            booked_at=_int(raw.get("booked_at")) or 0,
            contact=_str(raw.get("contact")),
            ticket_status=_str(raw.get("ticket_status")),
            request=_str(raw.get("request")),
            client=_str(raw.get("client")),
            lang=_str(raw.get("lang")),
        )


@dataclass(frozen=True, slots=True)
class LocationState:
    epoch: str
    seq: int
    day: str | None
    queues: Mapping[str, QueueState]
    counters: Mapping[str, CounterState]
    calls: tuple[Call, ...]  # newest first
    learn: Mapping[str, float] = field(default_factory=dict)  # see estimate.Learned
    occupancy: Mapping[str, tuple[int, int]] = field(default_factory=dict)  # zone: (n, at ms)
    appointments: Mapping[str, AppointmentsToday] = field(default_factory=dict)

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> LocationState:
        return cls(
            epoch=str(raw.get("epoch") or ""),
            seq=_int(raw.get("seq")) or 0,
            day=_str(raw.get("day")),
            queues={q: QueueState.parse(v) for q, v in _table(raw, "queues").items()},
            counters={c: CounterState.parse(v) for c, v in _table(raw, "counters").items()},
            calls=_calls(raw.get("calls")),
            learn={str(k): float(v) for k, v in _table(raw, "learn").items()},
            occupancy={
                str(z): (int(v["count"]), int(v["at"])) for z, v in _table(raw, "occupancy").items()
            },
            appointments={
                str(q): AppointmentsToday.parse(v) for q, v in _table(raw, "appointments").items()
            },
        )


def _table(raw: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    """A table of the scripts' answer; cjson encodes an empty table as {} or [] alike."""
    return raw.get(name) or {}


def _calls(raw: Any) -> tuple[Call, ...]:
    """The recent calls, each as JSON text (as the list in Redis holds them) or decoded."""
    calls = raw if isinstance(raw, list) else []
    return tuple(Call.parse(orjson.loads(c) if isinstance(c, str | bytes) else c) for c in calls)


def _brief(raw: Mapping[str, Any]) -> TicketRecord:
    return TicketRecord(
        id=str(raw["id"]),
        number=str(raw["number"]),
        queue=str(raw["queue"]),
        status=TicketStatus(raw["status"]),
        issued_at=0,
        queued_at=0,
        called_at=_int(raw.get("called_at")),
        started_at=_int(raw.get("started_at")),
    )
