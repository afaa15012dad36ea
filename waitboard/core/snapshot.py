"""The public shapes (Snapshot, LocationSummary, Ticket, Counter) built from live state.

Pure: configuration + :class:`~waitboard.core.state.LocationState` + the current time in,
JSON-ready dicts out. Every screen, page and API answer is built here, so they agree.
Only ticket numbers are ever shown, never anything about a person.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from waitboard.core import appointments, estimate, pace, pauses, usual
from waitboard.core.clock import iso, to_ms
from waitboard.core.office import Counter, Location, Office, Queue, Zone
from waitboard.core.state import Call, CounterState, LocationState, TicketRecord

Json = dict[str, Any]


#: Service time assumed for a queue no longer in the configuration.
UNKNOWN_QUEUE_SERVICE_S = 600.0
#: A people count older than this is not shown (the sensor went quiet).
OCCUPANCY_FRESH_MS = 10 * 60 * 1000


def open_counters(loc: Location, state: LocationState, queue: str) -> int:
    return sum(
        1
        for c in loc.layout.counters_serving(queue)
        if state.counters.get(c, CounterState(open=False, ticket=None)).open
    )


def counters_now(loc: Location, state: LocationState, now_ms: int) -> list[estimate.CounterNow]:
    """The open counters as the estimate sees them, each with how long its ticket has had,
    and the paused ones, each free once it is expected back (core/pauses.py)."""
    counters = []
    for c in loc.counters:
        cs = state.counters.get(c.id)
        if cs is not None and cs.paused is not None:
            paused_for_s = max(0.0, (now_ms - (cs.paused_at or now_ms)) / 1000)
            prior = pauses.prior_s(cs.paused, loc.pause_minutes)
            usual = pauses.usual_s(state.learn, cs.paused, prior)
            back_in = pauses.back_in_s(usual, paused_for_s)
            if back_in is not None:
                counters.append(
                    estimate.CounterNow(
                        id=c.id, queues=tuple(c.queues), busy_queue=None, free_in_s=back_in
                    )
                )
            continue
        if cs is None or not cs.open:
            continue
        busy = cs.ticket
        counters.append(
            estimate.CounterNow(
                id=c.id,
                queues=tuple(c.queues),
                busy_queue=busy.queue if busy else None,
                busy_for_s=max(0.0, (now_ms - busy.called_at) / 1000)
                if busy and busy.called_at
                else 0.0,
            )
        )
    return counters


def forecast(
    loc: Location,
    state: LocationState,
    now: datetime,
    tz: tzinfo,
    service_override: estimate.Service | None = None,
) -> Forecast:
    """The waits of every position of every queue, and the calibrated band. A walk-in
    queue's waits weigh in the pace of its calls just now (``core/pace.py``) and what its
    hours usually bring on this weekday (``core/usual.py``).
    ``service_override``: other service times for the same arithmetic (the benchmark's
    oracle, which knows the simulation's true ones)."""
    learned = estimate.Learned.parse(state.learn)
    now_ms = to_ms(now)
    hour = now.astimezone(tz).hour

    def service(counter: str, queue: str) -> float:
        q = loc.queue_by_id.get(queue)
        prior = q.service_minutes * 60 if q else UNKNOWN_QUEUE_SERVICE_S
        return estimate.service_s(learned, queue, counter, prior, hour)

    waiting = {q.id: state.queues[q.id].waiting if q.id in state.queues else 0 for q in loc.queues}
    gaps = {q: estimate.arrival_gap_s(learned, q) for q in waiting}
    counters = counters_now(loc, state, now_ms)
    waits = estimate.forecast_with_newcomers(
        counters, waiting, service_override or service, gaps, booked=booked(loc, state, now_ms)
    )
    if service_override is None:  # (the benchmark's oracle plays the counters alone)
        paced = paced_queues(loc, counters, waiting)
        local = now.astimezone(tz)
        for queue in walk_in_queues(loc, waiting):
            n = len(waits[queue])
            rule = usual.usual_waits(state.learn, queue, local, n)
            at_pace = pace.pace_waits(learned.pace.get(queue), n, now_ms, paced.get(queue))
            waits[queue] = [
                usual.weighed(w, pace.with_pace(w, p), p, u)
                for w, p, u in zip(waits[queue], at_pace, rule, strict=True)
            ]
    return Forecast(waits, learned)


def walk_in_queues(loc: Location, waiting: dict[str, int]) -> list[str]:
    """The queues people join by taking a ticket (an appointment's wait is its slot's)."""
    appointment = {q.id for q in loc.appointment_queues}
    return [q for q in waiting if q not in appointment]


def paced_queues(
    loc: Location, counters: list[estimate.CounterNow], queues: Iterable[str]
) -> dict[str, int]:
    """The walk-in queues whose open counters serve that queue alone, none paused: there
    the pace of its calls is the speed at which its people are called. Each with the first
    position the pace speaks for: 2 where a counter is free (the first in line goes to it
    at once), else 1. Those behind wait at the pace even beside a free counter (its advisor
    is writing up, say): on a real office's year the pace told them better than the
    counters did (benchmarks/replay.py). Counters shared between queues divide their time
    by the queues' order of preference, which the counters' forecast plays out and a
    queue's pace would not see; a paused counter calls nobody until it is back."""
    appointment = {q.id for q in loc.appointment_queues}
    out = {}
    for queue in queues:
        serving = [c for c in counters if queue in c.queues]
        if queue in appointment or not serving:
            continue
        if all(c.queues == (queue,) and not c.free_in_s for c in serving):
            out[queue] = 2 if any(c.busy_queue is None for c in serving) else 1
    return out


def booked(loc: Location, state: LocationState, now_ms: int) -> dict[str, estimate.Booked]:
    """The appointment queues as the forecast sees them: when those waiting are due, and
    when today's bookings that have not arrived (and are not missed yet) will be - as
    many of them as tend to come on time."""
    out = {}
    for q in loc.appointment_queues:
        plan = q.appointments
        assert plan is not None
        today = state.appointments.get(q.id)
        ahead_ms = plan.call_ahead_minutes * 60_000
        if today is None:
            out[q.id] = estimate.Booked()
            continue
        expected = sorted(
            max(0.0, (slot - ahead_ms - now_ms) / 1000)
            for slot, n in today.expected
            if not appointments.missed(plan, slot, now_ms)
            for _ in range(n)
        )
        out[q.id] = estimate.Booked(
            waiting=[(slot - ahead_ms - now_ms) / 1000 for slot in today.waiting_slots],
            expected=estimate.thinned(expected, estimate.show_up_share(state.learn, q.id)),
        )
    return out


@dataclass(frozen=True, slots=True)
class Forecast:
    waits: dict[str, list[float | None]]
    learned: estimate.Learned

    def raw(self, queue: str, position: int) -> float | None:
        """The forecast itself (what calibration compares actual waits with)."""
        waits = self.waits.get(queue, [])
        return waits[position - 1] if 0 < position <= len(waits) else None

    def wait(self, queue: str, position: int) -> tuple[int | None, list[int] | None]:
        """(estimated seconds, [low, high]) for a position (1 = next) of a queue."""
        value = self.raw(queue, position)
        if value is None:
            return None, None
        told, (low, high) = estimate.calibrated(value, self.learned.band_for(value))
        return told, [low, high]


def is_open(office: Office, loc: Location, now: datetime) -> bool:
    return loc.opening_hours.is_open(now.astimezone(office.tz))


def queue_shape(q: Queue, loc: Location, state: LocationState, fc: Forecast, now_ms: int) -> Json:
    """A queue as the screens show it: who waits, who is served, what a newcomer waits."""
    qs = state.queues.get(q.id)
    waiting = qs.waiting if qs else 0
    serving = sum(
        1 for c in state.counters.values() if c.ticket is not None and c.ticket.queue == q.id
    )
    head = qs.head_queued_at if qs else None
    wait_s, wait_range = fc.wait(q.id, waiting + 1)
    return {
        "id": q.id,
        "name": q.name,
        "name_en": q.name_en or q.name,
        "waiting": waiting,
        "serving": serving,
        "open_counters": open_counters(loc, state, q.id),
        "paused_counters": sum(
            1
            for c in loc.layout.counters_serving(q.id)
            if (cs := state.counters.get(c)) is not None and cs.paused is not None
        ),
        "estimated_wait_s": wait_s,
        "estimated_wait_range_s": wait_range,
        "longest_wait_s": max(0, (now_ms - head) // 1000) if head else 0,
        "ticket_stop": q.max_waiting is not None and waiting >= q.max_waiting,
        "appointments": q.appointments is not None,
    }


def counter_shape(c: Counter, state: LocationState) -> Json:
    """A counter in the snapshot: open (serving), paused (and why) or closed, and the
    number it has now."""
    cs = state.counters.get(c.id, CounterState(open=False, ticket=None))
    return {
        "id": c.id,
        "name": c.name,
        "name_en": c.name_en or c.name,
        "open": cs.open,
        "state": cs.mode.value,
        "pause_reason": cs.paused.value if cs.paused else None,
        "queues": list(c.queues),
        "number": cs.ticket.number if cs.ticket else None,
        "ticket_status": cs.ticket.status.value if cs.ticket else None,
    }


def call_shape(call: Call, loc: Location, tz: tzinfo) -> Json:
    """A recent call; a counter no longer configured is named by its id."""
    counter = loc.counter_by_id.get(call.counter)
    return {
        "id": call.id,
        "ticket_id": call.ticket_id,
        "number": call.number,
        "queue": call.queue,
        "counter": call.counter,
        "counter_name": counter.name if counter else call.counter,
        "counter_name_en": (counter.name_en or counter.name) if counter else call.counter,
        "called_at": iso(call.called_at, tz),
        "recall": call.recall,
    }


def zone_shape(z: Zone, state: LocationState, now_ms: int, tz: tzinfo) -> Json:
    """A waiting zone's people count, hidden once the sensor has gone quiet."""
    count, at = state.occupancy.get(z.id, (None, None))
    fresh = at is not None and now_ms - at <= OCCUPANCY_FRESH_MS
    return {
        "zone": z.id,
        "name": z.name,
        "name_en": z.name_en or z.name,
        "count": count if fresh else None,
        "capacity": z.capacity,
        "updated_at": iso(at, tz) if fresh else None,
    }


def opening_shape(loc: Location, local: datetime) -> Json:
    """Open now, and when it closes (None around the clock) or opens next."""
    is_open = loc.opening_hours.is_open(local)
    closes = loc.opening_hours.closes_at(local)
    opens = None if is_open else loc.opening_hours.next_opening(local)
    return {
        "open": is_open,
        "closes_at": closes.isoformat(timespec="minutes") if closes else None,
        "opens_at": opens.isoformat(timespec="minutes") if opens else None,
    }


def snapshot(office: Office, loc: Location, state: LocationState, now: datetime) -> Json:
    """Everything a screen of a location shows, in one message (see CONTRACT.md)."""
    tz, now_ms = office.tz, to_ms(now)
    fc = forecast(loc, state, now, tz)
    local = now.astimezone(tz)
    return {
        "type": "snapshot",
        "location": {"id": loc.id, "name": loc.name, "name_en": loc.name_en or loc.name},
        "epoch": state.epoch,
        "seq": state.seq,
        "day": state.day,
        "generated_at": local.isoformat(timespec="seconds"),
        **opening_shape(loc, local),
        "queues": [queue_shape(q, loc, state, fc, now_ms) for q in loc.queues],
        "counters": [counter_shape(c, state) for c in loc.counters],
        "calls": [call_shape(call, loc, tz) for call in state.calls],
        "occupancy": [zone_shape(z, state, now_ms, tz) for z in loc.zones],
    }


def summary(snap: Json) -> Json:
    """The LocationSummary of a snapshot (for the overview)."""
    return {
        "occupancy": snap.get("occupancy", []),
        "id": snap["location"]["id"],
        "name": snap["location"]["name"],
        "name_en": snap["location"]["name_en"],
        "open": snap["open"],
        "closes_at": snap["closes_at"],
        "opens_at": snap["opens_at"],
        "generated_at": snap["generated_at"],
        "seq": snap["seq"],
        "queues": [
            {
                "id": q["id"],
                "name": q["name"],
                "name_en": q["name_en"],
                "waiting": q["waiting"],
                "estimated_wait_s": q["estimated_wait_s"],
                # (What the overview shows besides: without them, its first live update
                # would hide a ticket stop and the range.)
                "estimated_wait_range_s": q.get("estimated_wait_range_s"),
                "open_counters": q["open_counters"],
                "ticket_stop": q["ticket_stop"],
                "appointments": q.get("appointments", False),
            }
            for q in snap["queues"]
        ],
    }


def ticket(
    office: Office,
    loc: Location,
    t: TicketRecord,
    position: int | None,
    state: LocationState,
    now: datetime,
    fc: Forecast | None = None,
) -> Json:
    """``fc``: the forecast of this same state, when the caller has it already."""
    tz = office.tz
    waiting = t.status.value == "waiting"
    # Only a ticket called or in service is shown at its counter.
    counter = (
        loc.counter_by_id.get(t.counter)
        if t.counter and t.status.value in ("called", "serving")
        else None
    )
    wait_s, wait_range = (
        (fc or forecast(loc, state, now, tz)).wait(t.queue, position)
        if waiting and position
        else (None, None)
    )
    return {
        "id": t.id,
        "number": t.number,
        "location": loc.id,
        "queue": t.queue,
        "status": t.status.value,
        "position": position if waiting else None,
        "estimated_wait_s": wait_s,
        "estimated_wait_range_s": wait_range,
        "issued_at": iso(t.issued_at, tz),
        "called_at": iso(t.called_at, tz) if not waiting else None,
        "counter": t.counter if counter else None,
        "counter_name": counter.name if counter else None,
        "counter_name_en": (counter.name_en or counter.name) if counter else None,
        "recall": t.recall,
        "appointment_at": iso(t.slot_at, tz) if t.slot_at else None,
        "late": t.late,
        "url": f"/tickets/{t.id}",
    }


def counter(office: Office, loc: Location, counter_id: str, state: LocationState) -> Json:
    c = loc.counter_by_id[counter_id]
    cs = state.counters.get(counter_id, CounterState(open=False, ticket=None))
    current = None
    if cs.ticket is not None:
        current = {
            "id": cs.ticket.id,
            "number": cs.ticket.number,
            "queue": cs.ticket.queue,
            "status": cs.ticket.status.value,
            "called_at": iso(cs.ticket.called_at, office.tz),
        }
    return {
        "id": c.id,
        "name": c.name,
        "location": loc.id,
        "open": cs.open,
        "state": cs.mode.value,
        "pause_reason": cs.paused.value if cs.paused else None,
        "paused_at": iso(cs.paused_at, office.tz) if cs.paused_at else None,
        "queues": list(c.queues),
        "ticket": current,
    }
