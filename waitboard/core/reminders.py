"""Appointment reminders by e-mail, without I/O: when they are due, what names them, and
what the scheduled job may hold of the booking.

An office says how long before an appointment to remind (``reminders = ["24h"]`` in its
configuration, the default: the day before, at the appointment's own time of day - inside
the office's hours, so never at night). A reminder whose time has passed when the booking
is made or moved is not sent, and a booking for the same day gets none at all.

A reminder's job id names the booking and the slot it reminds of, so that moving a
booking schedules new jobs beside the old ones; an old one finds the booking elsewhere
when it is due and sends nothing. The job holds no contact (the booking keeps that until
the end of its day, and the sender reads it there) and the booking code only sealed with
the server's secret: Redis never holds a code in clear.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from waitboard.core.sealed import seal, unseal

#: The job kind the reminders' sender handles.
KIND = "reminder"
#: As the office configuration writes it: ``"24h"``, ``"2h"``, ``"90m"``, ``"1d12h"``.
_BEFORE = re.compile(r"(?:(\d{1,3})d)?(?:(\d{1,3})h)?(?:(\d{1,4})m)?")
#: The longest a reminder may come before its appointment (longer than any booking window).
LONGEST_BEFORE = timedelta(days=30)
#: A contact that a reminder may be mailed to: one address, no spaces, a dot in its domain.
_EMAIL = re.compile(r"[^@\s<>,;\"]{1,64}@[^@\s<>,;\"]+\.[^@\s<>,;\".]+")


def parse_before(text: str) -> timedelta:
    """``"24h"`` -> 24 hours; ValueError with what is wrong."""
    m = _BEFORE.fullmatch(text.strip())
    if not text.strip() or m is None:
        raise ValueError(f'\'{text}\' is not a time before the appointment like "24h" or "90m"')
    days, hours, minutes = (int(g or 0) for g in m.groups())
    before = timedelta(days=days, hours=hours, minutes=minutes)
    if not timedelta(0) < before <= LONGEST_BEFORE:
        raise ValueError(f"'{text}' must be more than 0 minutes and at most 30 days")
    return before


def is_email(contact: str | None) -> bool:
    """Whether a booking's contact is an e-mail address (else a phone number, or none)."""
    return contact is not None and _EMAIL.fullmatch(contact.strip()) is not None


@dataclass(frozen=True, slots=True)
class Due:
    """One reminder of one booking's slot: ``before`` the slot's start, due ``at``."""

    before: timedelta
    at: datetime

    @property
    def label(self) -> str:
        """``1440m``: the reminder's part of its job id."""
        return f"{int(self.before.total_seconds()) // 60}m"


def due_reminders(
    start: datetime, befores: Sequence[timedelta], now: datetime, tz: tzinfo
) -> list[Due]:
    """The reminders to schedule for an appointment at ``start``, booked (or moved) ``now``:
    none for one on the same day; otherwise those whose time is still ahead."""
    if now.astimezone(tz).date() >= start.astimezone(tz).date():
        return []
    return [Due(b, start - b) for b in sorted(set(befores), reverse=True) if start - b > now]


def job_id(location: str, code_hash: str, slot_ms: int, due: Due) -> str:
    """The one id of a booking's reminder for a slot: scheduling it again adds nothing."""
    return f"{KIND}:{location}:{code_hash}:{slot_ms}:{due.label}"


#: The label of the reminders' sealing key (``core/sealed.py``): unchanged, so that codes
#: sealed before still open.
_LABEL = b"waitboard reminder code"


def seal_code(secret: str, code: str, code_hash: str) -> str:
    """The booking code encrypted with a key derived from the server's secret (AES-GCM,
    bound to the booking it belongs to): what a reminder job keeps of it."""
    return seal(secret, _LABEL, code.encode(), code_hash.encode())


def open_code(secret: str, sealed: str, code_hash: str) -> str | None:
    """The code :func:`seal_code` sealed; None when it was sealed with another secret (a
    development server draws a new one at each start) or for another booking."""
    raw = unseal(secret, _LABEL, sealed, code_hash.encode())
    try:
        code = raw.decode() if raw is not None else None
    except UnicodeDecodeError:
        return None
    if code is None:
        return None
    if not hmac.compare_digest(hashlib.sha256(code.encode()).hexdigest(), code_hash):
        return None
    return code
