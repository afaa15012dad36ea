"""The public shapes (Snapshot, LocationSummary, Ticket, Counter) built from live state.

Pure: configuration + :class:`~waitboard.state.LocationState` + the current time in,
JSON-ready dicts out. Every screen, page and API answer is built here, so they agree.
Only ticket numbers are ever shown, never anything about a person.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from waitboard import estimate
from waitboard.clock import iso, to_ms
from waitboard.config import Location, Office
from waitboard.state import CounterState, LocationState, TicketRecord

Json = dict[str, Any]


def _counters_for(loc: Location, state: LocationState, queue: str) -> tuple[int, int]:
    """(open counters serving ``queue``, of which free)."""
    open_, free = 0, 0
    for counter_id in loc.layout.counters_serving(queue):
        c = state.counters.get(counter_id, CounterState(open=False, ticket=None))
        if c.open:
            open_ += 1
            if c.ticket is None:
                free += 1
    return open_, free


def queue_wait_s(loc: Location, state: LocationState, queue: str, position: int) -> int | None:
    q = loc.queue_by_id.get(queue)
    if q is None:
        return None  # a queue removed from the configuration: nobody can say
    open_, free = _counters_for(loc, state, queue)
    service_s = q.service_minutes * 60
    return estimate.wait_seconds(position, service_s, open_, free)


def is_open(office: Office, loc: Location, now: datetime) -> bool:
    return loc.opening_hours.is_open(now.astimezone(office.tz))


def snapshot(office: Office, loc: Location, state: LocationState, now: datetime) -> Json:
    tz, now_ms = office.tz, to_ms(now)
    queues = []
    for q in loc.queues:
        qs = state.queues.get(q.id)
        waiting = qs.waiting if qs else 0
        open_counters, _ = _counters_for(loc, state, q.id)
        serving = sum(1 for c in state.counters.values()
                      if c.ticket is not None and c.ticket.queue == q.id)
        head = qs.head_queued_at if qs else None
        queues.append({
            "id": q.id, "name": q.name, "name_en": q.name_en or q.name,
            "waiting": waiting, "serving": serving, "open_counters": open_counters,
            "estimated_wait_s": queue_wait_s(loc, state, q.id, waiting + 1),
            "longest_wait_s": max(0, (now_ms - head) // 1000) if head else 0,
            "ticket_stop": q.max_waiting is not None and waiting >= q.max_waiting,
        })
    counters = []
    for c in loc.counters:
        cs = state.counters.get(c.id, CounterState(open=False, ticket=None))
        counters.append({
            "id": c.id, "name": c.name, "name_en": c.name_en or c.name, "open": cs.open,
            "queues": list(c.queues),
            "number": cs.ticket.number if cs.ticket else None,
            "ticket_status": cs.ticket.status.value if cs.ticket else None,
        })
    calls = []
    for call in state.calls:
        counter = loc.counter_by_id.get(call.counter)
        calls.append({
            "id": call.id, "ticket_id": call.ticket_id, "number": call.number,
            "queue": call.queue, "counter": call.counter,
            "counter_name": counter.name if counter else call.counter,
            "counter_name_en": (counter.name_en or counter.name) if counter else call.counter,
            "called_at": iso(call.called_at, tz), "recall": call.recall,
        })
    local = now.astimezone(tz)
    closes = loc.opening_hours.closes_at(local)
    opens = None if closes else loc.opening_hours.next_opening(local)
    return {
        "type": "snapshot",
        "location": {"id": loc.id, "name": loc.name, "name_en": loc.name_en or loc.name},
        "epoch": state.epoch, "seq": state.seq, "day": state.day,
        "generated_at": local.isoformat(timespec="seconds"),
        "open": closes is not None,
        "closes_at": closes.isoformat(timespec="minutes") if closes else None,
        "opens_at": opens.isoformat(timespec="minutes") if opens else None,
        "queues": queues, "counters": counters, "calls": calls,
    }


def summary(snap: Json) -> Json:
    """The LocationSummary of a snapshot (for the overview)."""
    return {
        "id": snap["location"]["id"], "name": snap["location"]["name"],
        "name_en": snap["location"]["name_en"], "open": snap["open"],
        "closes_at": snap["closes_at"], "opens_at": snap["opens_at"],
        "generated_at": snap["generated_at"], "seq": snap["seq"],
        "queues": [{"id": q["id"], "name": q["name"], "name_en": q["name_en"],
                    "waiting": q["waiting"], "estimated_wait_s": q["estimated_wait_s"]}
                   for q in snap["queues"]],
    }


def ticket(office: Office, loc: Location, t: TicketRecord, position: int | None,
           state: LocationState) -> Json:
    tz = office.tz
    counter = loc.counter_by_id.get(t.counter) if t.counter else None
    waiting = t.status.value == "waiting"
    return {
        "id": t.id, "number": t.number, "location": loc.id, "queue": t.queue,
        "status": t.status.value,
        "position": position if waiting else None,
        "estimated_wait_s": (queue_wait_s(loc, state, t.queue, position)
                             if waiting and position else None),
        "issued_at": iso(t.issued_at, tz),
        "called_at": iso(t.called_at, tz) if t.status.value != "waiting" else None,
        "counter": t.counter if counter and t.status.value in ("called", "serving") else None,
        "counter_name": counter.name if counter and t.status.value in ("called", "serving")
        else None,
        "counter_name_en": (counter.name_en or counter.name)
        if counter and t.status.value in ("called", "serving") else None,
        "recall": t.recall,
        "url": f"/tickets/{t.id}",
    }


def counter(office: Office, loc: Location, counter_id: str, state: LocationState) -> Json:
    c = loc.counter_by_id[counter_id]
    cs = state.counters.get(counter_id, CounterState(open=False, ticket=None))
    current = None
    if cs.ticket is not None:
        current = {"id": cs.ticket.id, "number": cs.ticket.number, "queue": cs.ticket.queue,
                   "status": cs.ticket.status.value,
                   "called_at": iso(cs.ticket.called_at, office.tz)}
    return {"id": c.id, "name": c.name, "location": loc.id, "open": cs.open,
            "queues": list(c.queues), "ticket": current}
