"""The office configuration: locations, queues, counters, opening hours, devices, webhooks.

Read from TOML and validated completely before anything starts. Every problem becomes one
line that names the file, the location / queue / counter / device and the field, e.g.
``waitboard.toml: location sued, queue A: service_minutes: must be greater than 0``.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cached_property
from typing import Annotated, Any, Literal, Self, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from waitboard.core.domain import Layout
from waitboard.core.errors import ConfigError
from waitboard.core.hours import OpeningHours
from waitboard.core.languages import CITIZEN_LANGUAGES, DEFAULT
from waitboard.core.office_checks import cross_check, describe
from waitboard.core.reminders import parse_before
from waitboard.core.service_levels import Alerts, ServiceLevel
from waitboard.core.sign_in import SignIn
from waitboard.core.webhooks import Webhook, webhook_problems

LocationId = Annotated[str, Field(pattern=r"^[a-z0-9-]+$", min_length=1, max_length=40)]
# A queue id is also the ticket prefix (A001): short, upper case, starts with a letter.
QueueId = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9]{0,2}$")]
CounterId = Annotated[str, Field(pattern=r"^[A-Za-z0-9-]+$", min_length=1, max_length=20)]
DeviceId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", min_length=1, max_length=60)]
Name = Annotated[str, Field(min_length=1, max_length=100)]
Role = Literal["terminal", "reception", "counter", "display", "sensor", "caseworker", "admin"]
#: Roles not bound to one location: administrators, and caseworkers (applications are
#: looked up by their number, wherever they were filed).
ZoneId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", min_length=1, max_length=40)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


#: The languages a name can be given in besides German (``name``).
OtherLanguage = Literal["en", "tr", "ar", "uk", "ru", "ls"]


class _Naming(_Model):
    """Names in the languages of the lobby: German (``name``), and the others where the
    office gives them (``names = { tr = "...", ar = "..." }``; English also as ``name_en``,
    as before). A language without its own name shows the German one."""

    name: Name | None = None
    name_en: Name | None = None
    names: dict[OtherLanguage, Name] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _english_once(self) -> Self:
        if self.name_en and "en" in self.names:
            raise ValueError("the English name is given twice (name_en and names.en): keep one")
        return self

    def name_in(self, lang: str) -> str | None:
        """The name the office gave in ``lang``, or None (German: always ``name``)."""
        if lang == DEFAULT:
            return self.name
        if lang == "en" and self.name_en:
            return self.name_en
        return self.names.get(cast(OtherLanguage, lang))

    def languages_without_name(self) -> list[str]:
        """The citizen languages this thing has no name of its own in."""
        return [lang for lang in CITIZEN_LANGUAGES if not self.name_in(lang)]


class _Named(_Naming):
    """A thing people see by name (a location, queue, counter or zone): German always."""

    name: Name

    def display_name(self, lang: str) -> str:
        return self.name_in(lang) or self.name


class AppointmentPlan(_Model):
    """A queue that takes booked appointments: its tickets come from check-ins with a
    booking code, not from the terminal's buttons."""

    walk_in_queue: QueueId  # where someone who comes too late waits, like everyone else
    slot_minutes: int = Field(ge=5, le=240)
    capacity: int = Field(default=1, ge=1, le=50)  # people per slot
    days_ahead: int = Field(default=14, ge=0, le=120)  # today + this many days are bookable
    min_notice_minutes: int = Field(default=30, ge=0, le=24 * 60)
    hours: dict[str, str] = Field(default_factory=dict)  # default: the location's hours
    closed: list[date] = Field(default_factory=list)  # holidays and the like
    early_minutes: int = Field(default=30, ge=0, le=240)  # check-in opens this long before
    late_minutes: int = Field(default=10, ge=0, le=120)  # and closes this long after
    call_ahead_minutes: int = Field(default=2, ge=0, le=60)  # called this long before

    @field_validator("hours")
    @classmethod
    def _hours_parse(cls, v: dict[str, str]) -> dict[str, str]:
        OpeningHours.parse(v)
        return v


class Queue(_Named):
    id: QueueId
    service_minutes: float = Field(gt=0, le=480)
    max_waiting: int | None = Field(default=None, ge=1, le=9999)
    appointments: AppointmentPlan | None = None
    # Its own target (docs/service-levels.md); else the office's, for a walk-in queue.
    service_level: ServiceLevel | None = None


class Counter(_Named):
    id: CounterId
    queues: list[QueueId] = Field(min_length=1)


class Zone(_Named):
    """A waiting zone whose people a counter at the door counts (``waitboard-sensor
    occupancy``)."""

    id: ZoneId
    capacity: int | None = Field(default=None, ge=1, le=10000)


class Location(_Named):
    id: LocationId
    hours: dict[str, str] = Field(default_factory=dict)
    # "Tell me when I am nearly next" (Web Push): how many people ahead, unless the person
    # chooses otherwise on the ticket's page.
    notify_ahead: int = Field(default=3, ge=1, le=10)
    # The usual minutes of a pause by reason before any was seen here (core/pauses.py).
    pause_minutes: dict[Literal["break", "paperwork", "meeting", "other"], float] = Field(
        default_factory=dict
    )
    queues: list[Queue] = Field(min_length=1)
    counters: list[Counter] = Field(default_factory=list)
    zones: list[Zone] = Field(default_factory=list)

    @field_validator("pause_minutes")
    @classmethod
    def _pause_minutes_sane(cls, v: dict[str, float]) -> dict[str, float]:
        if any(not 0 < m <= 480 for m in v.values()):
            raise ValueError("each pause length must be more than 0 and at most 480 minutes")
        return v

    @field_validator("hours")
    @classmethod
    def _hours_parse(cls, v: dict[str, str]) -> dict[str, str]:
        OpeningHours.parse(v)  # raises ValueError with the reason
        return v

    @cached_property
    def opening_hours(self) -> OpeningHours:
        return OpeningHours.parse(self.hours)

    @cached_property
    def layout(self) -> Layout:
        return Layout(
            queues=tuple(q.id for q in self.queues),
            counters={c.id: tuple(c.queues) for c in self.counters},
        )

    @cached_property
    def queue_by_id(self) -> dict[str, Queue]:
        return {q.id: q for q in self.queues}

    @cached_property
    def appointment_queues(self) -> list[Queue]:
        """The queues people book appointments for (the "concerns" of the booking pages)."""
        return [q for q in self.queues if q.appointments is not None]

    @cached_property
    def walk_in_queues(self) -> list[Queue]:
        """The queues a terminal's buttons issue tickets for."""
        return [q for q in self.queues if q.appointments is None]

    @cached_property
    def counter_by_id(self) -> dict[str, Counter]:
        return {c.id: c for c in self.counters}

    @cached_property
    def zone_by_id(self) -> dict[str, Zone]:
        return {z.id: z for z in self.zones}


class Device(_Model):
    id: DeviceId
    role: Role
    location: LocationId | None = None
    counters: list[CounterId] = Field(default_factory=list)
    token_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")

    @field_validator("token_sha256", mode="before")
    @classmethod
    def _lower(cls, v: Any) -> Any:
        return v.lower() if isinstance(v, str) else v

    @property
    def person(self) -> str | None:
        """A device on its own acts for no person (``core/staff.py``)."""
        return None

    @property
    def device_id(self) -> str:
        return self.id


class ApplicationPolicy(_Model):
    """How long the status lookup keeps an application. The case file itself lives in the
    office's case management system; the status is for the citizen following it, and
    once the decision is out (plus the month for an objection and the post) it has served."""

    keep_days_after_decision: int = Field(default=90, ge=1, le=3650)


class Accessibility(_Model):
    """The accessibility statement a German public body publishes (BITV 2.0, section 12b
    BGG): how far the site conforms, what is known not to, when this was assessed, and how
    to report a barrier - the site's own form, the office's contact, and the conciliation
    body where an answer does not help."""

    status: Literal["full", "partial", "none"] = "partial"
    assessed_on: date | None = None  # when the conformity was last assessed
    known_barriers: list[Annotated[str, Field(min_length=1, max_length=500)]] = Field(
        default_factory=list
    )
    contact_email: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")] | None = None
    contact_phone: Annotated[str, Field(max_length=40)] | None = None
    # The explanation in German Sign Language: a video's https address or /static path.
    sign_language_video: Annotated[str, Field(pattern=r"^(https://|/static/)\S+$")] | None = None
    # Said beside the download link, as BITV asks: its size and its length.
    sign_language_video_mb: float | None = Field(default=None, gt=0, le=10_000)
    sign_language_video_length: Annotated[str, Field(pattern=r"^\d{1,3}:\d{2}$")] | None = None
    conciliation_url: Annotated[str, Field(pattern=r"^https://\S+$")] = (
        "https://www.schlichtungsstelle-bgg.de"
    )


class Office(_Naming):
    # The name is optional: the office as a whole (its locations have names of their own),
    # for what is about the office rather than one location - the slip with a PIN.
    timezone: str = "Europe/Berlin"
    locations: list[Location] = Field(min_length=1)
    devices: list[Device] = Field(default_factory=list)
    applications: ApplicationPolicy = Field(default_factory=ApplicationPolicy)
    accessibility: Accessibility = Field(default_factory=Accessibility)
    # The office's own systems told of every change (docs/webhooks.md).
    webhooks: list[Webhook] = Field(default_factory=list)
    # How long before a booked appointment to remind by e-mail those who left an address
    # (with WAITBOARD_SMTP_URL): the day before, at the same time of day. [] sends none.
    reminders: list[str] = Field(default_factory=lambda: ["24h"], max_length=5)
    # Staff sign-in through the office's OpenID Connect provider (docs/staff-sign-in.md);
    # None: staff log in with a device token only.
    sign_in: SignIn | None = None
    # How long the audit keeps a record of a staff action (docs/audit.md): a year, as
    # offices keep such logs; at least a week, at most ten years.
    audit_days: int = Field(default=365, ge=7, le=3650)
    # The target of every walk-in queue without one of its own, and who is told when a
    # queue leaves its target (docs/service-levels.md).
    service_level: ServiceLevel | None = None
    alerts: Alerts = Field(default_factory=Alerts)

    def target_of(self, queue: Queue) -> ServiceLevel | None:
        """The queue's service-level target: its own, else the office's for a walk-in
        queue (an appointment queue's people wait for their time, not in line)."""
        if queue.service_level is not None:
            return queue.service_level
        return self.service_level if queue.appointments is None else None

    @field_validator("reminders")
    @classmethod
    def _reminders_parse(cls, v: list[str]) -> list[str]:
        for text in v:
            parse_before(text)  # raises ValueError with the reason
        return v

    @cached_property
    def reminder_befores(self) -> list[timedelta]:
        return [parse_before(text) for text in self.reminders]

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"'{v}' is not a known time zone such as Europe/Berlin") from None
        return v

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @cached_property
    def location_by_id(self) -> dict[str, Location]:
        return {loc.id: loc for loc in self.locations}

    def missing_names(self) -> list[str]:
        """Warnings, one line per location, queue, counter or zone (and the office, where
        it has a name), for the citizen languages it has no name in: the pages then show its
        German name there (a Turkish terminal's button would read "Leistungen")."""
        lines = []
        things: list[tuple[str, _Naming]] = [("office", self)] if self.name else []
        for loc in self.locations:
            things += [(f"location {loc.id}", loc)]
            things += [(f"location {loc.id}, queue {q.id}", q) for q in loc.queues]
            things += [(f"location {loc.id}, counter {c.id}", c) for c in loc.counters]
            things += [(f"location {loc.id}, zone {z.id}", z) for z in loc.zones]
        for where, thing in things:
            missing = thing.languages_without_name()
            if missing:
                lines.append(
                    f"{where}: no name in {', '.join(missing)} - the German name "
                    f"'{thing.name}' is shown there"
                )
        return lines


# --- loading --------------------------------------------------------------------------------


def parse_office(raw: dict[str, Any], source: str) -> Office:
    """The office, or ConfigError with every problem: wrong types and values, and the
    references that do not resolve - the latter also where some types are wrong, so that
    one run of check-config shows everything to fix, not one layer after another."""
    problems: list[str] = []
    office: Office | None = None
    try:
        office = Office.model_validate(raw)
    except ValidationError as e:
        problems += [describe(err, raw) for err in e.errors()]
    problems += cross_check(raw)
    problems += webhook_problems(raw)
    if problems or office is None:
        raise ConfigError([f"{source}: {p}" for p in problems])
    return office
