"""The live state of a location as the Lua scripts return it, as plain values.

Parsing lives here so that every reader (store, hub, pages) sees the same types; building
the public shapes from them is :mod:`waitboard.snapshot`'s job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from waitboard.domain import TicketStatus


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

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> TicketRecord:
        return cls(
            id=str(raw["id"]), number=str(raw["number"]), queue=str(raw["queue"]),
            status=TicketStatus(raw["status"]),
            issued_at=_int(raw.get("issued_at")) or 0,
            queued_at=_int(raw.get("queued_at")) or _int(raw.get("issued_at")) or 0,
            called_at=_int(raw.get("called_at")), started_at=_int(raw.get("started_at")),
            closed_at=_int(raw.get("closed_at")), counter=_str(raw.get("counter")),
            recall=_int(raw.get("recall")) or 0, transfers=_int(raw.get("transfers")) or 0,
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
        return cls(id=str(raw["id"]), ticket_id=str(raw["ticket_id"]),
                   number=str(raw["number"]), queue=str(raw["queue"]),
                   counter=str(raw["counter"]), called_at=_int(raw["called_at"]) or 0,
                   recall=_int(raw.get("recall")) or 0)


@dataclass(frozen=True, slots=True)
class QueueState:
    waiting: int
    head_queued_at: int | None  # when the first in line joined this queue


@dataclass(frozen=True, slots=True)
class CounterState:
    open: bool
    ticket: TicketRecord | None  # called or being served here


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

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> LocationState:
        # cjson encodes an empty table as {}: treat {} and [] alike.
        queues = raw.get("queues") or {}
        counters = raw.get("counters") or {}
        calls = raw.get("calls") or []
        return cls(
            epoch=str(raw.get("epoch") or ""),
            seq=_int(raw.get("seq")) or 0,
            day=_str(raw.get("day")),
            queues={q: QueueState(waiting=int(v.get("waiting", 0)),
                                  head_queued_at=_int(v.get("head_queued_at")))
                    for q, v in queues.items()},
            counters={c: CounterState(
                open=bool(v.get("open")),
                ticket=_brief(v["ticket"]) if v.get("ticket") else None)
                for c, v in counters.items()},
            calls=tuple(Call.parse(orjson.loads(c) if isinstance(c, str | bytes) else c)
                        for c in (calls if isinstance(calls, list) else [])),
            learn={str(k): float(v) for k, v in (raw.get("learn") or {}).items()},
            occupancy={str(z): (int(v["count"]), int(v["at"]))
                       for z, v in (raw.get("occupancy") or {}).items()},
        )


def _brief(raw: Mapping[str, Any]) -> TicketRecord:
    return TicketRecord(id=str(raw["id"]), number=str(raw["number"]), queue=str(raw["queue"]),
                        status=TicketStatus(raw["status"]), issued_at=0, queued_at=0,
                        called_at=_int(raw.get("called_at")),
                        started_at=_int(raw.get("started_at")))
