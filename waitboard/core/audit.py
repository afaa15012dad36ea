"""The audit: who did what, when, to which ticket, counter or application - as rules.

Every staff action is recorded by the same script that makes the change (``lib.lua``'s
``audit``), in an append-only stream per location (and one for the applications), so a
crash never leaves an action without its record and a replayed request records nothing
twice. A record names its actor by a pseudonymous person id and a device id - never a
display name (the staff directory holds those, apart) and never anything of a citizen but
a ticket's number or an application's number.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

import orjson

from waitboard.core.application_pins import keyed_digest
from waitboard.core.staff import Actor

DAY_MS = 24 * 3600 * 1000

#: What the stream's ``action`` field may say, in the order the admin page offers them.
ACTIONS = (
    "issue",
    "check_in",
    "call",
    "recall",
    "start",
    "complete",
    "no_show",
    "transfer",
    "cancel",
    "counter_open",
    "counter_close",
    "counter_pause",
    "counter_resume",
    "booking_cancel",
    "booking_move",
    "application_create",
    "application_stage",
    "application_pin",
    "application_delete",
    "person_delete",
    "sign_in",
    "sign_out",
    "audit_export",
)
#: Where the applications' records belong (they belong to no location), and the staff
#: directory's.
#: (Location ids are lower-case letters, digits and '-': these are never one.)
APPLICATIONS = "_applications"
STAFF = "_staff"


def by(actor: Actor | None) -> dict[str, str]:
    """What a script records of the actor (its ARGV ``by``): the person's pseudonymous id
    (or "") and the device (or "")."""
    if actor is None:
        return {"person": "", "device": ""}
    return {"person": actor.person or "", "device": actor.device_id or ""}


def application_ref(secret: str, number: str) -> str:
    """How the audit names an application: a keyed digest of its number (16 hex digits).
    Whoever knows the number (and the service its key) finds its records; once the
    application is deleted, no record gives the number away."""
    return keyed_digest(secret, "audit-application", number)[:16]


#: A ticket's reference as a record holds it (:func:`ticket_ref`).
TICKET_REF = re.compile(r"^[0-9a-f]{16}$")


def ticket_ref(ticket_id: str) -> str:
    """How the audit names a ticket: a digest of its id (the first 16 hex digits of its
    SHA-1, as ``lib.lua``'s ``audit`` writes it), which tells its records apart from those
    of another day's ticket of the same number. The id itself is the address of the
    citizen's ticket page: no record holds it (the ticket is gone two days after it
    closed, its records stay for ``audit_days``)."""
    return (
        hashlib.sha1(ticket_id.encode(), usedforsecurity=False).hexdigest()[:16]
        if ticket_id
        else ""
    )


def _stored_ticket(value: str) -> str:
    """A record's ticket as shown: its reference (a record written before records held
    only the reference is shown by the reference of its id, too)."""
    return value if not value or TICKET_REF.match(value) else ticket_ref(value)


def keep_ms(audit_days: int) -> int:
    """How long records are kept: the office's ``audit_days``."""
    return audit_days * DAY_MS


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One recorded action. ``before`` and ``after``: the state it changed (status,
    queue, counter; a counter's ``open``; an application's stage)."""

    id: str  # the stream entry's id: its time in ms, '-', a sequence number
    at_ms: int
    location: str  # a location id, or APPLICATIONS
    action: str
    person: str  # pseudonymous id, or "" (a device on its own)
    device: str
    ticket: str = ""  # a ticket's reference (ticket_ref), never its id
    number: str = ""  # a ticket's number, or an application's
    queue: str = ""
    counter: str = ""
    application: str = ""  # an application's reference (application_ref), not its number
    subject: str = ""  # whom a directory deletion was about (a pseudonymous id)
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None

    @classmethod
    def parse(cls, location: str, entry_id: str, fields: Mapping[str, str]) -> AuditRecord:
        """A record as ``lib.lua``'s ``audit`` writes it into a stream."""
        return cls(
            id=entry_id,
            at_ms=int(entry_id.partition("-")[0]),
            location=location,
            action=fields.get("action", ""),
            person=fields.get("person", ""),
            device=fields.get("device", ""),
            ticket=_stored_ticket(fields.get("ticket", "")),
            number=fields.get("number", ""),
            queue=fields.get("queue", ""),
            counter=fields.get("counter", ""),
            application=fields.get("application", ""),
            subject=fields.get("subject", ""),
            before=_state(fields.get("before")),
            after=_state(fields.get("after")),
        )

    @property
    def sort_key(self) -> tuple[int, int, str]:
        ms, _, seq = self.id.partition("-")
        return int(ms), int(seq or 0), self.location


def _state(raw: str | None) -> Mapping[str, Any] | None:
    if not raw:
        return None
    value = orjson.loads(raw)
    return value if isinstance(value, dict) and value else None


def describe_state(state: Mapping[str, Any] | None) -> str:
    """``status=called, counter=2``: a state for a table cell or a CSV column."""
    if not state:
        return ""
    return ", ".join(f"{k}={_plain(v)}" for k, v in sorted(state.items()))


def _plain(value: Any) -> str:
    if value is True:
        return "1"
    if value is False:
        return "0"
    return str(value)


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """What the admin's list is narrowed to; every field None means all."""

    location: str | None = None
    person: str | None = None
    action: str | None = None
    day_from: date | None = None
    day_to: date | None = None
    application: str | None = None  # an application's reference (application_ref)
    ticket: str | None = None  # a ticket's reference (ticket_ref)

    def window_ms(self, tz: tzinfo) -> tuple[int | None, int | None]:
        """The days as a range of times (ms, both ends included), in the office's zone."""
        start = end = None
        if self.day_from is not None:
            start = int(datetime.combine(self.day_from, time(), tz).timestamp() * 1000)
        if self.day_to is not None:
            after = datetime.combine(self.day_to + timedelta(days=1), time(), tz)
            end = int(after.timestamp() * 1000) - 1
        return start, end

    def matches(self, record: AuditRecord) -> bool:
        return (
            (self.person is None or record.person == self.person)
            and (self.action is None or record.action == self.action)
            and (self.location is None or record.location == self.location)
            and (self.application is None or record.application == self.application)
            and (self.ticket is None or record.ticket == self.ticket)
        )


def merged(streams: Iterable[Sequence[AuditRecord]], limit: int) -> list[AuditRecord]:
    """The newest ``limit`` records of several streams (each newest first), newest first."""
    everything = [r for stream in streams for r in stream]
    everything.sort(key=lambda r: r.sort_key, reverse=True)
    return everything[:limit]


#: The CSV's columns (the admin's export), in order.
CSV_COLUMNS = (
    "time",
    "location",
    "action",
    "person",
    "name",
    "device",
    "ticket",
    "number",
    "queue",
    "counter",
    "application",
    "subject",
    "before",
    "after",
)


def to_csv(records: Iterable[AuditRecord], names: Mapping[str, str], tz: tzinfo) -> str:
    """The records as CSV, with the display name of each person still in the directory
    (empty for a person deleted from it: the pseudonym stays)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for r in records:
        when = datetime.fromtimestamp(r.at_ms / 1000, tz).isoformat(timespec="seconds")
        writer.writerow(
            [
                when,
                r.location,
                r.action,
                r.person,
                _safe_cell(names.get(r.person, "")),
                r.device,
                r.ticket,
                r.number,
                r.queue,
                r.counter,
                r.application,
                r.subject,
                describe_state(r.before),
                describe_state(r.after),
            ]
        )
    return out.getvalue()


def _safe_cell(text: str) -> str:
    """A name a spreadsheet will not run as a formula (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
