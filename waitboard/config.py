"""The office configuration: locations, queues, counters, opening hours, devices.

Read from TOML and validated completely before anything starts. Every problem becomes one
line that names the file, the location / queue / counter / device and the field, e.g.
``waitboard.toml: location sued, queue A: service_minutes: must be greater than 0``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from waitboard.domain import Layout
from waitboard.errors import ConfigError
from waitboard.hours import OpeningHours

LocationId = Annotated[str, Field(pattern=r"^[a-z0-9-]+$", min_length=1, max_length=40)]
# A queue id is also the ticket prefix (A001): short, upper case, starts with a letter.
QueueId = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9]{0,2}$")]
CounterId = Annotated[str, Field(pattern=r"^[A-Za-z0-9-]+$", min_length=1, max_length=20)]
DeviceId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", min_length=1, max_length=60)]
Name = Annotated[str, Field(min_length=1, max_length=100)]
Role = Literal["terminal", "reception", "counter", "display", "sensor", "caseworker", "admin"]
#: Roles not bound to one location: administrators, and caseworkers (applications are
#: looked up by their number, wherever they were filed).
OFFICE_WIDE_ROLES = ("admin", "caseworker")
ZoneId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", min_length=1, max_length=40)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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


class Queue(_Model):
    id: QueueId
    name: Name
    name_en: Name | None = None
    service_minutes: float = Field(gt=0, le=480)
    max_waiting: int | None = Field(default=None, ge=1, le=9999)
    appointments: AppointmentPlan | None = None

    def display_name(self, lang: str) -> str:
        return self.name_en if lang == "en" and self.name_en else self.name


class Counter(_Model):
    id: CounterId
    name: Name
    name_en: Name | None = None
    queues: list[QueueId] = Field(min_length=1)

    def display_name(self, lang: str) -> str:
        return self.name_en if lang == "en" and self.name_en else self.name


class Zone(_Model):
    """A waiting zone whose people a counter at the door counts (``waitboard-sensor
    occupancy``)."""

    id: ZoneId
    name: Name
    name_en: Name | None = None
    capacity: int | None = Field(default=None, ge=1, le=10000)


class Location(_Model):
    id: LocationId
    name: Name
    name_en: Name | None = None
    hours: dict[str, str] = Field(default_factory=dict)
    queues: list[Queue] = Field(min_length=1)
    counters: list[Counter] = Field(default_factory=list)
    zones: list[Zone] = Field(default_factory=list)

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

    def display_name(self, lang: str) -> str:
        return self.name_en if lang == "en" and self.name_en else self.name


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


class ApplicationPolicy(_Model):
    """How long the status lookup keeps an application. The case file itself lives in the
    office's case management system; the status is for the citizen following it, and
    once the decision is out (plus the month for an objection and the post) it has served."""

    keep_days_after_decision: int = Field(default=90, ge=1, le=3650)


class Office(_Model):
    # Optional: the office as a whole (its locations have names of their own), for what
    # is about the office rather than one location - the slip with an application's PIN.
    name: Name | None = None
    name_en: Name | None = None
    timezone: str = "Europe/Berlin"
    locations: list[Location] = Field(min_length=1)
    devices: list[Device] = Field(default_factory=list)
    applications: ApplicationPolicy = Field(default_factory=ApplicationPolicy)

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


# --- loading --------------------------------------------------------------------------------


def load_office(path: Path) -> Office:
    """Read and validate a configuration file; ConfigError lists every problem found."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([f"{path}: file not found"]) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError([f"{path}: cannot read: {e}"]) from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError([f"{path}: not valid TOML: {e}"]) from None
    return parse_office(raw, source=str(path))


def parse_office(raw: dict[str, Any], source: str) -> Office:
    try:
        office = Office.model_validate(raw)
    except ValidationError as e:
        raise ConfigError([f"{source}: {_describe(err, raw)}" for err in e.errors()]) from None
    problems = list(_cross_check(office))
    if problems:
        raise ConfigError([f"{source}: {p}" for p in problems])
    return office


def _cross_check(office: Office) -> Iterable[str]:
    """What the shape alone cannot say: unique ids and references that must resolve."""
    yield from _duplicates("location", [loc.id for loc in office.locations], "")
    for loc in office.locations:
        where = f"location {loc.id}, "
        yield from _duplicates("queue", [q.id for q in loc.queues], where)
        yield from _duplicates("counter", [c.id for c in loc.counters], where)
        yield from _duplicates("zone", [z.id for z in loc.zones], where)
        for c in loc.counters:
            for q in c.queues:
                if q not in loc.queue_by_id:
                    yield (
                        f"{where}counter {c.id}: queues: '{q}' is not a queue of this "
                        f"location (queues: {', '.join(loc.queue_by_id)})"
                    )
            yield from _duplicates("queue", c.queues, f"{where}counter {c.id}: queues: ")
        for aq in loc.appointment_queues:
            assert aq.appointments is not None
            target = loc.queue_by_id.get(aq.appointments.walk_in_queue)
            here = f"{where}queue {aq.id}: appointments: walk_in_queue: "
            if target is None:
                yield (
                    f"{here}'{aq.appointments.walk_in_queue}' is not a queue of this "
                    f"location (queues: {', '.join(loc.queue_by_id)})"
                )
            elif target.appointments is not None:
                yield f"{here}'{target.id}' takes appointments itself; name a walk-in queue"
            if not loc.layout.counters_serving(aq.id):
                yield (
                    f"{where}queue {aq.id}: no counter serves it; add it to a counter's "
                    "queues, or nobody with an appointment is ever called"
                )
    yield from _duplicates("device", [d.id for d in office.devices], "")
    for d in office.devices:
        where = f"device {d.id}: "
        if d.location is None:
            if d.role not in OFFICE_WIDE_ROLES:
                yield f"{where}location: required for role {d.role}"
            continue
        home = office.location_by_id.get(d.location)
        if home is None:
            yield f"{where}location: '{d.location}' is not a configured location"
            continue
        if d.role == "counter" and not d.counters:
            yield f"{where}counters: a counter device needs the counters it may operate"
        if d.role != "counter" and d.counters:
            yield f"{where}counters: only devices with role counter operate counters"
        for counter_id in d.counters:
            if counter_id not in home.counter_by_id:
                yield f"{where}counters: '{counter_id}' is not a counter of location {home.id}"
    hashes = [d.token_sha256 for d in office.devices]
    if len(set(hashes)) != len(hashes):
        yield "devices: two devices share a token_sha256; give every device its own token"


def _duplicates(kind: str, ids: list[str], where: str) -> Iterable[str]:
    seen: set[str] = set()
    for i in ids:
        if i in seen:
            yield f"{where}{kind} {i}: id is used more than once"
        seen.add(i)


def _describe(err: Any, raw: dict[str, Any]) -> str:
    """Turn a pydantic error location into 'location sued, queue A: field: message'."""
    loc: tuple[Any, ...] = err["loc"]
    parts: list[str] = []
    node: Any = raw
    i = 0
    labels = {
        "locations": "location",
        "queues": "queue",
        "counters": "counter",
        "zones": "zone",
        "devices": "device",
    }
    while i < len(loc):
        key = loc[i]
        nxt = loc[i + 1] if i + 1 < len(loc) else None
        if key in labels and isinstance(nxt, int) and isinstance(node, dict):
            items = node.get(key)
            item = items[nxt] if isinstance(items, list) and nxt < len(items) else None
            ident = item.get("id") if isinstance(item, dict) else None
            parts.append(
                f"{labels[key]} {ident}"
                if isinstance(ident, str) and ident
                else f"{labels[key]} #{nxt + 1}"
            )
            node, i = item, i + 2
            continue
        break
    field = ".".join(str(k) for k in loc[i:])
    message = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        message = "unknown field (check the spelling)"
    elif err["type"] == "missing":
        message = "required"
    where = ", ".join(parts)
    text = f"{field}: {message}" if field else message
    return f"{where}: {text}" if where else text
