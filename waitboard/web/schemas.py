"""The shapes of HTTP API v1 (CONTRACT.md), as pydantic models.

Request bodies are validated with them; the OpenAPI document is generated from them; the
tests check every answer against that document. Answers themselves are built as plain
dicts by :mod:`waitboard.core.snapshot` (fast, and one place for the shapes' content).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

# (A day's figures have their own module; their names stay importable from here.)
from waitboard.web.stats_schemas import DayStats, HourArrivals, QueueDay

__all__ = ["DayStats", "HourArrivals", "QueueDay"]


def _whole(v: Any) -> Any:
    # JSON Schema's integer includes 12.0; strict validation alone would refuse it.
    return int(v) if isinstance(v, float) and v.is_integer() else v


CitizenLanguage = Literal["de", "en", "tr", "ar", "uk", "ru", "ls"]
Status = Literal["waiting", "called", "serving", "done", "no_show", "cancelled"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Open(BaseModel):
    # Answers may gain fields (CONTRACT.md: add freely); clients must ignore unknown ones.
    model_config = ConfigDict(extra="allow")


# --- requests -------------------------------------------------------------------------------


class PushKeys(_Strict):
    p256dh: str = Field(
        min_length=80, max_length=100, description="The browser's P-256 public key, base64url."
    )
    auth: str = Field(
        min_length=16, max_length=30, description="The browser's 16-byte secret, base64url."
    )


class PushSubscriptionRequest(_Strict):
    """A browser's ``PushSubscription.toJSON()``, with the person's choices."""

    endpoint: str = Field(
        min_length=10, max_length=2048, description="The push service's https address."
    )
    expirationTime: int | None = Field(  # (the browser's own name)
        default=None, description="As the browser gives it; not used."
    )
    keys: PushKeys
    ahead: Annotated[int | None, BeforeValidator(_whole)] = Field(
        default=None,
        ge=1,
        le=10,
        description="Say 'soon' when at most this many people are ahead (default: the "
        "location's setting).",
    )
    lang: CitizenLanguage | None = Field(
        default=None, description="The language of the messages (default: de)."
    )


class TicketRequest(_Strict):
    queue: str = Field(min_length=1, max_length=10, description='Queue id, e.g. "A".')


class TransferRequest(_Strict):
    queue: str = Field(min_length=1, max_length=10, description="Target queue id.")


class OccupancyRequest(_Strict):
    zone: str = Field(min_length=1, max_length=40, description='Zone id, e.g. "wartebereich".')
    count: Annotated[int, BeforeValidator(_whole)] = Field(
        ge=0, le=100_000, description="People in the zone now (0 or more)."
    )


class BookingRequest(_Strict):
    queue: str = Field(min_length=1, max_length=10, description="The appointment queue.")
    start: str = Field(
        min_length=10,
        max_length=40,
        description="The slot's start as offered, e.g. 2026-12-03T10:20:00+01:00.",
    )
    contact: str | None = Field(
        default=None,
        max_length=120,
        description="Optional e-mail or phone number; kept only "
        "until the end of the appointment's day.",
    )
    lang: CitizenLanguage | None = Field(
        default=None,
        description="The language the booking is made in (de, en, tr, ar, uk, ru, or ls for "
        "Leichte Sprache); its confirmation, calendar file and reminders keep it. Default: de.",
    )


class MoveRequest(_Strict):
    start: str = Field(min_length=10, max_length=40, description="The new slot's start.")


class CheckInRequest(_Strict):
    code: str = Field(
        min_length=1, max_length=300, description="The booking code (K7QM-4XPA), typed or scanned."
    )


class EmptyRequest(_Strict):
    """Commands without parameters take no body, or an empty JSON object."""


class PauseRequest(_Strict):
    reason: PauseReason = Field(description="Why the counter pauses.")


# --- answers --------------------------------------------------------------------------------


class Ticket(_Open):
    id: str
    number: str = Field(examples=["A017"])
    location: str
    queue: str
    status: Status
    position: int | None = Field(description="1 = next; null unless waiting.")
    estimated_wait_s: int | None = Field(
        description="Seconds until called; null unless waiting or when no counter is open."
    )
    estimated_wait_range_s: list[int] | None = Field(
        default=None,
        description="[low, high] seconds: the range the wait is expected in "
        "(calibrated on recent tickets: about four in five fall inside).",
    )
    issued_at: str
    called_at: str | None
    counter: str | None
    counter_name: str | None
    recall: int
    appointment_at: str | None = Field(
        default=None, description="Checked in for the appointment at this time."
    )
    late: bool = Field(
        default=False,
        description="Came too late for that appointment: "
        "waits in the walk-in queue like everyone without one.",
    )
    url: str


class LocationRef(_Open):
    id: str
    name: str
    name_en: str


class QueueView(_Open):
    id: str
    name: str
    name_en: str
    waiting: int
    serving: int
    open_counters: int = Field(description="Counters serving this queue now (not paused).")
    paused_counters: int = Field(default=0, description="Its counters paused just now.")
    estimated_wait_s: int | None
    estimated_wait_range_s: list[int] | None = None
    longest_wait_s: int
    ticket_stop: bool
    appointments: bool = Field(
        default=False,
        description="An appointment queue: people join it by checking in with a booking code.",
    )


CounterMode = Literal["open", "paused", "closed"]
PauseReason = Literal["break", "paperwork", "meeting", "other"]


class CounterView(_Open):
    id: str
    name: str
    name_en: str
    open: bool = Field(description="Serving: open and not paused.")
    state: CounterMode = "open"
    pause_reason: PauseReason | None = None
    queues: list[str]
    number: str | None
    ticket_status: Status | None


class CallView(_Open):
    id: str
    ticket_id: str
    number: str
    queue: str
    counter: str
    counter_name: str
    called_at: str
    recall: int


class ZoneView(_Open):
    zone: str
    name: str
    count: int | None = Field(description="null when the sensor has not reported lately.")
    capacity: int | None
    updated_at: str | None


class Occupancy(_Open):
    zone: str
    count: int


class Snapshot(_Open):
    type: Literal["snapshot"]
    location: LocationRef
    epoch: str
    seq: int
    generated_at: str
    open: bool
    queues: list[QueueView]
    counters: list[CounterView]
    calls: list[CallView] = Field(description="Newest first, at most 10 of today.")
    occupancy: list[ZoneView] = Field(default_factory=list)


class QueueSummary(_Open):
    id: str
    name: str
    waiting: int
    estimated_wait_s: int | None
    estimated_wait_range_s: list[int] | None = Field(
        default=None, description="[low, high] seconds, as in the location's snapshot."
    )
    open_counters: int = Field(default=0, description="Counters serving this queue now.")
    ticket_stop: bool = Field(default=False, description="No new tickets for this queue now.")
    appointments: bool = Field(default=False, description="An appointment queue.")


class LocationSummary(_Open):
    id: str
    name: str
    open: bool
    queues: list[QueueSummary]


class LocationList(_Open):
    locations: list[LocationSummary]


class NamesInLanguages(_Open):
    id: str
    names: dict[CitizenLanguage, str] = Field(
        description="The name in each citizen language; the German one where the office "
        "gave none in that language."
    )


class LocationNames(_Open):
    """What a terminal or an app shows a person in their language."""

    location: NamesInLanguages
    queues: list[NamesInLanguages]
    counters: list[NamesInLanguages]


class CurrentTicket(_Open):
    id: str
    number: str
    queue: str
    status: Status
    called_at: str | None


class Counter(_Open):
    id: str
    name: str
    location: str
    open: bool = Field(description="Serving: open and not paused.")
    state: CounterMode
    pause_reason: PauseReason | None
    paused_at: str | None
    queues: list[str]
    ticket: CurrentTicket | None


class Problem(_Open):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    code: str = Field(description="Stable machine-readable reason, e.g. ticket_stop.")
    instance: str | None = None


class Health(_Open):
    status: Literal["ok", "unavailable"]


# --- appointments ---------------------------------------------------------------------------


class SlotView(_Open):
    start: str
    end: str
    free: int = Field(description="Places still free (0: fully booked).")


class DayView(_Open):
    date: str
    free: int = Field(description="Places still free on that day.")


class AppointmentQueue(_Open):
    """An appointment queue (a concern people book for) and its bookable days."""

    location: str
    queue: str
    name: str
    name_en: str
    slot_minutes: int
    days: list[DayView]


class AppointmentQueueList(_Open):
    queues: list[AppointmentQueue]


class DaySlots(_Open):
    """The slots of one day of an appointment queue."""

    location: str
    queue: str
    date: str
    slots: list[SlotView]


class Appointment(_Open):
    """A booked appointment as its holder sees it."""

    code: str = Field(
        description="The booking code, e.g. K7QM-4XPA: keep it; it is the "
        "only way to check in, move or cancel."
    )
    location: str
    queue: str
    start: str
    end: str
    status: Literal["booked", "arrived", "cancelled"]
    ticket_number: str | None
    late: bool
    lang: CitizenLanguage = Field(description="The language the booking was made in.")
    url: str
    ics_url: str


class PushKey(_Open):
    public_key: str = Field(
        description="The VAPID application server key (base64url, uncompressed P-256 point) "
        "for PushManager.subscribe()."
    )


class PushSubscriptionCreated(_Open):
    id: str = Field(description="The subscription's id, for DELETE.")
