"""The office configuration: locations, queues, counters, opening hours, devices.

Read from TOML and validated completely before anything starts. Every problem becomes one
line that names the file, the location / queue / counter / device and the field, e.g.
``waitboard.toml: location sued, queue A: service_minutes: must be greater than 0``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from functools import cached_property
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from waitboard.core.domain import Layout
from waitboard.core.errors import ConfigError
from waitboard.core.hours import OpeningHours

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


def parse_office(raw: dict[str, Any], source: str) -> Office:
    """The office, or ConfigError with every problem: wrong types and values, and the
    references that do not resolve - the latter also where some types are wrong, so that
    one run of check-config shows everything to fix, not one layer after another."""
    problems: list[str] = []
    office: Office | None = None
    try:
        office = Office.model_validate(raw)
    except ValidationError as e:
        problems += [_describe(err, raw) for err in e.errors()]
    problems += _cross_check(raw)
    if problems or office is None:
        raise ConfigError([f"{source}: {p}" for p in problems])
    return office


def _items(node: Any, key: str) -> list[dict[str, Any]]:
    """The tables of a list in the file (``[[locations]]``, ``[[devices]]``...), skipping
    what is not a table: its type is the shape check's to report."""
    found = node.get(key) if isinstance(node, dict) else None
    return [i for i in found if isinstance(i, dict)] if isinstance(found, list) else []


def _ids(items: list[dict[str, Any]]) -> list[str]:
    return [i["id"] for i in items if isinstance(i.get("id"), str)]


def _strings(node: dict[str, Any], key: str) -> list[str]:
    found = node.get(key)
    return [v for v in found if isinstance(v, str)] if isinstance(found, list) else []


def _cross_check(raw: dict[str, Any]) -> Iterable[str]:
    """What the shape alone cannot say: unique ids and references that must resolve. It
    reads the file's own data, so that it runs whatever else is wrong in it."""
    locations = _items(raw, "locations")
    yield from _duplicates("location", _ids(locations), "")
    for loc in locations:
        where = f"location {loc.get('id')}, "
        queues, counters = _items(loc, "queues"), _items(loc, "counters")
        queue_ids = _ids(queues)
        yield from _duplicates("queue", queue_ids, where)
        yield from _duplicates("counter", _ids(counters), where)
        yield from _duplicates("zone", _ids(_items(loc, "zones")), where)
        for c in counters:
            for served in _strings(c, "queues"):
                if served not in queue_ids:
                    yield (
                        f"{where}counter {c.get('id')}: queues: '{served}' is not a queue of this "
                        f"location (queues: {', '.join(queue_ids)})"
                    )
            yield from _duplicates(
                "queue", _strings(c, "queues"), f"{where}counter {c.get('id')}: queues: "
            )
        by_id = {q["id"]: q for q in queues if isinstance(q.get("id"), str)}
        for q in queues:
            plan = q.get("appointments")
            if not isinstance(plan, dict):
                continue
            walk_in = plan.get("walk_in_queue")
            here = f"{where}queue {q.get('id')}: appointments: walk_in_queue: "
            if isinstance(walk_in, str) and walk_in not in by_id:
                yield (
                    f"{here}'{walk_in}' is not a queue of this location "
                    f"(queues: {', '.join(queue_ids)})"
                )
            elif isinstance(walk_in, str) and isinstance(by_id[walk_in].get("appointments"), dict):
                yield f"{here}'{walk_in}' takes appointments itself; name a walk-in queue"
            if not any(q.get("id") in _strings(c, "queues") for c in counters):
                yield (
                    f"{where}queue {q.get('id')}: no counter serves it; add it to a counter's "
                    "queues, or nobody with an appointment is ever called"
                )
    devices = _items(raw, "devices")
    yield from _duplicates("device", _ids(devices), "")
    homes = {loc["id"]: loc for loc in locations if isinstance(loc.get("id"), str)}
    for d in devices:
        where, role, at = f"device {d.get('id')}: ", d.get("role"), d.get("location")
        operated = _strings(d, "counters")
        if at is None:
            if isinstance(role, str) and role not in OFFICE_WIDE_ROLES:
                yield f"{where}location: required for role {role}"
            continue
        if not isinstance(at, str):
            continue
        home = homes.get(at)
        if home is None:
            yield f"{where}location: '{at}' is not a configured location"
            continue
        if role == "counter" and not operated:
            yield f"{where}counters: a counter device needs the counters it may operate"
        if isinstance(role, str) and role != "counter" and operated:
            yield f"{where}counters: only devices with role counter operate counters"
        counter_ids = _ids(_items(home, "counters"))
        for counter_id in operated:
            if counter_id not in counter_ids:
                yield f"{where}counters: '{counter_id}' is not a counter of location {at}"
    hashes = [h.lower() for h in (d.get("token_sha256") for d in devices) if isinstance(h, str)]
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
