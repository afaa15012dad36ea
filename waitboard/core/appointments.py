"""Booked appointments, without I/O: the slots a queue offers, booking codes, and what a
check-in at a given moment means.

A queue with an ``appointments`` plan offers slots of ``slot_minutes`` within its hours
(the location's unless it has its own), ``capacity`` people each, from today up to
``days_ahead`` days ahead, except on ``closed`` days and within ``min_notice_minutes`` of
now. Whoever books gets a code; with it they check in on the day:

* before ``early_minutes`` ahead of the slot: too early, check-in is not open yet;
* from then until ``late_minutes`` after the slot's start: a ticket in the appointment
  queue, ordered by slot time, called from ``call_ahead_minutes`` before the slot
  (:func:`waitboard.domain.pick_queue`);
* later: a ticket in the plan's walk-in queue, like someone without an appointment - and
  the ticket says so.

Codes are eight characters from an alphabet without look-alikes (no 0/O, 1/I/L): about
40 bits, short enough to read out on the phone, far too many to guess at the rate limits.
Redis keeps only their SHA-256.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from waitboard.core.clock import to_ms
from waitboard.core.hours import OpeningHours
from waitboard.core.office import AppointmentPlan, Location

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
_CODE_IN_TEXT = re.compile(r"[A-Za-z0-9]{4}[\s-]*[A-Za-z0-9]{4}")
#: How many free slots a refusal suggests instead.
SUGGESTIONS = 3


# --- codes ----------------------------------------------------------------------------------


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def code_for_key(secret: str, key: str) -> str:
    """The code a booking made under this Idempotency-Key gets: a retry of the same
    booking finds the same code, and no code needs to be stored to answer it again."""
    digest = hmac.new(secret.encode(), f"booking\n{key}".encode(), hashlib.sha256).digest()
    n = int.from_bytes(digest, "big")
    chars = []
    for _ in range(CODE_LENGTH):
        n, i = divmod(n, len(CODE_ALPHABET))
        chars.append(CODE_ALPHABET[i])
    return "".join(chars)


def format_code(code: str) -> str:
    """``K7QM4XPA`` -> ``K7QM-4XPA``: two groups read and type more easily."""
    return f"{code[:4]}-{code[4:]}"


def parse_code(text: str) -> str | None:
    """A code as people type it (lower case, spaces, a dash) or as a scanner reads the QR
    code (the whole address ending in ``/appointments/K7QM-4XPA``); None when it is none."""
    text = text.strip()[:300]
    if "/" in text:
        text = text.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0].split("#", 1)[0]
    m = _CODE_IN_TEXT.fullmatch(text.strip())
    if not m:
        return None
    code = re.sub(r"[\s-]", "", m.group(0)).upper()
    return code if all(ch in CODE_ALPHABET for ch in code) else None


def code_hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


# --- slots ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Slot:
    start: datetime  # local, aware
    end: datetime

    @property
    def start_ms(self) -> int:
        return to_ms(self.start)


def plan_of(loc: Location, queue: str) -> AppointmentPlan:
    """The plan of an appointment queue; ValueError when the queue takes none."""
    q = loc.queue_by_id.get(queue)
    if q is None or q.appointments is None:
        raise ValueError(f"queue {queue} of {loc.id} takes no appointments")
    return q.appointments


def _hours(plan: AppointmentPlan, loc: Location) -> OpeningHours:
    return OpeningHours.parse(plan.hours) if plan.hours else loc.opening_hours


def slots_of_day(plan: AppointmentPlan, loc: Location, day: date, tz: tzinfo) -> list[Slot]:
    """Every slot of a day, booked or not (none on closed days)."""
    if day in plan.closed:
        return []
    slots = []
    step = plan.slot_minutes
    for start, end in _hours(plan, loc).week[day.weekday()]:
        minute = start
        while minute + step <= end:
            begin = datetime.combine(day, time(minute // 60, minute % 60), tz)
            if _exists(begin):  # (not in the hour a clock skips in spring)
                slots.append(Slot(begin, begin + timedelta(minutes=step)))
            minute += step
    return slots


def _exists(moment: datetime) -> bool:
    """Whether a local time is on the clock that day: on the night the clocks go forward,
    02:00-02:59 in Berlin is not, and a slot there would be the 03:xx slot twice over."""
    back = moment.astimezone(UTC).astimezone(moment.tzinfo)
    return back.replace(tzinfo=None) == moment.replace(tzinfo=None)


def first_bookable(plan: AppointmentPlan, now: datetime) -> datetime:
    return now + timedelta(minutes=plan.min_notice_minutes)


def bookable_days(plan: AppointmentPlan, loc: Location, now: datetime, tz: tzinfo) -> list[date]:
    """The days that have slots still open for booking, soonest first."""
    today = now.astimezone(tz).date()
    earliest = first_bookable(plan, now)
    days = []
    for offset in range(plan.days_ahead + 1):
        day = today + timedelta(days=offset)
        if any(s.start >= earliest for s in slots_of_day(plan, loc, day, tz)):
            days.append(day)
    return days


class NotASlot(ValueError):
    """A start that cannot be booked; the message says why, for the person booking."""


def bookable_slot(
    plan: AppointmentPlan, loc: Location, start: datetime, now: datetime, tz: tzinfo
) -> Slot:
    """The slot that begins at ``start``, if it can be booked now."""
    if start.tzinfo is None:
        raise NotASlot("The start needs a time zone, e.g. 2026-12-03T10:20:00+01:00.")
    local = start.astimezone(tz)
    today = now.astimezone(tz).date()
    if local.date() > today + timedelta(days=plan.days_ahead):
        last = today + timedelta(days=plan.days_ahead)
        raise NotASlot(f"Appointments can be booked up to {last.isoformat()}.")
    offered = slots_of_day(plan, loc, local.date(), tz)
    if not offered:
        raise NotASlot(
            f"No appointments are offered on {local:%Y-%m-%d}; pick one of the bookable days."
        )
    slot = next((s for s in offered if s.start == local), None)
    if slot is None:
        raise NotASlot(
            f"There is no appointment slot at {local:%Y-%m-%d %H:%M}; "
            "pick one of the slots offered for that day."
        )
    if slot.start < first_bookable(plan, now):
        raise NotASlot(
            f"The slot at {local:%Y-%m-%d %H:%M} is too soon or past; "
            f"book at least {plan.min_notice_minutes} minutes ahead."
        )
    return slot


@dataclass(frozen=True, slots=True)
class SlotView:
    slot: Slot
    free: int


def free_slots(
    plan: AppointmentPlan,
    loc: Location,
    day: date,
    tz: tzinfo,
    booked: Mapping[int, int],
    now: datetime,
) -> list[SlotView]:
    """The slots of a day that can still be booked, with their free places (0 = full).
    ``booked``: slot start (ms) -> places taken."""
    earliest = first_bookable(plan, now)
    return [
        SlotView(s, max(0, plan.capacity - booked.get(s.start_ms, 0)))
        for s in slots_of_day(plan, loc, day, tz)
        if s.start >= earliest
    ]


# --- check-in -------------------------------------------------------------------------------


class Arrival(enum.StrEnum):
    TOO_EARLY = "too_early"
    ON_TIME = "on_time"
    LATE = "late"  # waits in the walk-in queue
    OTHER_DAY = "other_day"


@dataclass(frozen=True, slots=True)
class Window:
    """When a slot's check-in opens, until when it counts as on time, when it is called."""

    opens_ms: int
    late_after_ms: int
    due_ms: int

    @classmethod
    def of(cls, plan: AppointmentPlan, slot_ms: int) -> Window:
        minute = 60_000
        return cls(
            opens_ms=slot_ms - plan.early_minutes * minute,
            late_after_ms=slot_ms + plan.late_minutes * minute,
            due_ms=slot_ms - plan.call_ahead_minutes * minute,
        )


def arrival(plan: AppointmentPlan, slot_day: str, slot_ms: int, today: str, now_ms: int) -> Arrival:
    """What a check-in now means for a booking (``check_in.lua`` applies the same)."""
    if slot_day != today:
        return Arrival.OTHER_DAY
    window = Window.of(plan, slot_ms)
    if now_ms < window.opens_ms:
        return Arrival.TOO_EARLY
    if now_ms > window.late_after_ms:
        return Arrival.LATE
    return Arrival.ON_TIME


def missed(plan: AppointmentPlan, slot_ms: int, now_ms: int) -> bool:
    """A booking not checked in by now is a no-show (its place is no longer expected)."""
    return now_ms > Window.of(plan, slot_ms).late_after_ms


def end_of_day(day: date, tz: tzinfo) -> datetime:
    """Local midnight after ``day``: an optional contact is kept until then."""
    return datetime.combine(day + timedelta(days=1), time(0, 0), tz)
