"""Application status, the pure part: stages, numbers, missing lists, PINs, audit entries.

A caseworker files an application under its number and sets its stage; the citizen looks
the stage up with the number and the PIN printed on their letter. Everything here is plain
Python (no asyncio, no Redis, no web framework): :mod:`waitboard.store.applications` keeps
the values in Redis, :mod:`waitboard.web.applications` and :mod:`waitboard.pages.applications`
speak HTTP.

Why the PIN is handled the way it is:

* only a salted scrypt record is kept: a copy of Redis does not give away the PINs without
  ~50 ms of work per guess and per application;
* :func:`verify_pin` does the same hashing work whether or not the application exists (a
  dummy record stands in), and compares in constant time, so neither the answer nor its
  timing tells a guesser whether a number exists;
* the server's secret is not mixed into the hash: rotating ``WAITBOARD_SECRET_KEY`` (which
  logs staff out) must not make every printed letter useless.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any, ClassVar

import orjson

from waitboard.core.clock import iso
from waitboard.core.errors import Conflict, ErrorKind, NotFound, Unprocessable, WaitboardError

#: Who may create applications and change their stage.
CASEWORKER_ROLES = ("caseworker", "admin")


class Stage(enum.StrEnum):
    """Where an application stands. Any stage may follow any other: a caseworker corrects
    a slip, and a decision is reopened on objection, so no change is impossible; each one
    is kept in the audit log instead."""

    RECEIVED = "received"
    IN_REVIEW = "in_review"
    DOCUMENTS_MISSING = "documents_missing"
    DECIDED = "decided"


#: A new application starts here.
FIRST_STAGE = Stage.RECEIVED

# --- numbers --------------------------------------------------------------------------------

NUMBER_MIN, NUMBER_MAX = 4, 20
#: 4-20 characters of A-Z, 0-9 and '-', starting and ending with a letter or digit.
NUMBER_PATTERN = r"^[A-Z0-9][A-Z0-9-]{2,18}[A-Z0-9]$"
#: What the API accepts: lower case, too (it is stored in upper case).
NUMBER_INPUT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9-]{2,18}[A-Za-z0-9]$"
_NUMBER = re.compile(NUMBER_PATTERN)


class InvalidNumber(Unprocessable):
    code = "application_number_invalid"
    title = "Not an application number"


def normalise_number(raw: str) -> str:
    """As a person types it from a letter: blanks around or inside, lower case."""
    return "".join(raw.split()).upper()


def check_number(raw: str) -> str:
    """The application number in its stored form, or :class:`InvalidNumber`."""
    number = normalise_number(raw)
    if not _NUMBER.fullmatch(number):
        raise InvalidNumber(
            f"An application number has {NUMBER_MIN} to {NUMBER_MAX} characters: letters "
            "A-Z, digits and '-', starting and ending with a letter or digit "
            "(e.g. 'AB-2026-0042').",
            field="number",
        )
    return number


# --- missing documents ----------------------------------------------------------------------

MISSING_MAX_ITEMS = 20
MISSING_MAX_CHARS = 200
#: One line of free text: at least one visible character, no control characters.
MISSING_ITEM_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class InvalidChange(Unprocessable):
    code = "application_change_invalid"
    title = "Stage and missing documents do not fit"


def check_missing(stage: Stage, items: Iterable[str]) -> tuple[str, ...]:
    """The list of missing documents for ``stage``: trimmed, without empty lines; only
    ``documents_missing`` has one, and it then names at least one document. A refusal
    names its ``reason`` (and the line it is about), so that its reader can fix it."""
    lines = [item.strip() for item in items]
    for number, item in enumerate(lines, start=1):
        if len(item) > MISSING_MAX_CHARS:
            raise InvalidChange(
                f"Line {number} of the missing documents has {len(item)} characters; at "
                f"most {MISSING_MAX_CHARS} are allowed. Shorten it or split it in two lines.",
                field="missing",
                reason="too_long",
                line=number,
                length=len(item),
                limit=MISSING_MAX_CHARS,
            )
        if _CONTROL.search(item):
            raise InvalidChange(
                f"Line {number} of the missing documents holds a control character; write "
                "each document as one plain line of text.",
                field="missing",
                reason="control",
                line=number,
            )
    cleaned = tuple(item for item in lines if item)
    if len(cleaned) > MISSING_MAX_ITEMS:
        raise InvalidChange(
            f"At most {MISSING_MAX_ITEMS} missing documents can be listed; "
            f"there are {len(cleaned)}.",
            field="missing",
            reason="too_many",
            count=len(cleaned),
            limit=MISSING_MAX_ITEMS,
        )
    if stage is Stage.DOCUMENTS_MISSING and not cleaned:
        raise InvalidChange(
            "The stage documents_missing needs the list of what is missing: "
            "name at least one document.",
            field="missing",
            reason="none_named",
        )
    if stage is not Stage.DOCUMENTS_MISSING and cleaned:
        raise InvalidChange(
            f"Only the stage documents_missing has a list of missing "
            f"documents; for {stage.value} leave it empty.",
            field="missing",
            reason="not_for_stage",
        )
    return cleaned


def encode_missing(items: Sequence[str]) -> str:
    """The list as stored: JSON, so that equal lists are equal strings."""
    return orjson.dumps(list(items)).decode()


def decode_missing(raw: str | bytes | None) -> tuple[str, ...]:
    return tuple(orjson.loads(raw)) if raw else ()


# --- PINs -----------------------------------------------------------------------------------

PIN_DIGITS = 8
#: As printed ("1234 5678") or typed without the blank or with a hyphen.
PIN_INPUT_PATTERN = r"^[0-9]{4}[ -]?[0-9]{4}$"
_PIN_INPUT = re.compile(PIN_INPUT_PATTERN)


class InvalidPin(Unprocessable):
    code = "application_pin_invalid"
    title = "Not a PIN"


@dataclass(frozen=True, slots=True)
class ScryptCost:
    """scrypt's parameters: n=2^14, r=8 takes 16 MiB and ~50 ms a hash - slow for a
    guesser with a copy of Redis, quick enough for one lookup."""

    n: int = 2**14
    r: int = 8
    p: int = 1


COST = ScryptCost()
_SALT_BYTES = 16
_HASH_BYTES = 32


def new_pin() -> str:
    """Eight random digits (10^8 possibilities; with the lookup limits a guesser gets a
    few hundred tries a day per number at most)."""
    return f"{secrets.randbelow(10**PIN_DIGITS):0{PIN_DIGITS}d}"


def group_pin(pin: str) -> str:
    """``12345678`` -> ``1234 5678``: as printed on the letter, easy to read out."""
    return f"{pin[:4]} {pin[4:]}"


def normalise_pin(raw: str) -> str:
    """The PIN's digits, or :class:`InvalidPin` (blanks around it are forgiven)."""
    pin = raw.strip()
    if not _PIN_INPUT.fullmatch(pin):
        raise InvalidPin(
            f"The PIN has {PIN_DIGITS} digits, as printed on the letter (e.g. '1234 5678').",
            field="pin",
        )
    return pin.replace(" ", "").replace("-", "")


#: A record asking for more than this is not one of ours (and would tie up the memory).
_MAX_COST = ScryptCost(n=2**16, r=16, p=4)
_MAXMEM = 128 * _MAX_COST.r * (_MAX_COST.n + _MAX_COST.p + 2) + 1024 * 1024


def _scrypt(pin: str, salt: bytes, cost: ScryptCost) -> bytes:
    return hashlib.scrypt(
        pin.encode("ascii"),
        salt=salt,
        n=cost.n,
        r=cost.r,
        p=cost.p,
        dklen=_HASH_BYTES,
        maxmem=_MAXMEM,
    )


def hash_pin(pin: str, salt: bytes | None = None, cost: ScryptCost = COST) -> str:
    """The record kept instead of the PIN: ``scrypt$n$r$p$<salt hex>$<hash hex>``, with a
    fresh salt per application (so equal PINs give different records)."""
    salt = salt if salt is not None else secrets.token_bytes(_SALT_BYTES)
    digest = _scrypt(pin, salt, cost)
    return f"scrypt${cost.n}${cost.r}${cost.p}${salt.hex()}${digest.hex()}"


def _parse_record(record: str) -> tuple[ScryptCost, bytes, bytes] | None:
    parts = record.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        return None
    try:
        cost = ScryptCost(int(parts[1]), int(parts[2]), int(parts[3]))
        salt, digest = bytes.fromhex(parts[4]), bytes.fromhex(parts[5])
    except ValueError:
        return None
    if (
        not (1 < cost.n <= _MAX_COST.n and 0 < cost.r <= _MAX_COST.r and 0 < cost.p <= _MAX_COST.p)
        or len(digest) != _HASH_BYTES
    ):
        return None
    return cost, salt, digest


def verify_pin(pin: str, record: str | bytes | None) -> bool:
    """Whether ``pin`` fits ``record``. Without a record (an unknown number) the same scrypt
    work is done against a random stand-in, and the answer is False."""
    if isinstance(record, bytes):
        record = record.decode("ascii", errors="replace")
    parsed = _parse_record(record) if record else None
    cost, salt, expected = parsed or (
        COST,
        secrets.token_bytes(_SALT_BYTES),
        secrets.token_bytes(_HASH_BYTES),
    )
    matches = hmac.compare_digest(_scrypt(pin, salt, cost), expected)
    return matches and parsed is not None


# --- the lookup's limits --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LookupLimits:
    """Wrong lookups allowed before more are refused (429): ``per_address`` at once, then
    one more per ``address_window_s`` (never more than ``per_address`` a window); the same
    per number. Per client address: a guesser at one address; per application number,
    counted whether or not it exists (so a lock tells nothing): a guesser spread over many
    addresses."""

    per_address: int = 10
    address_window_s: int = 60
    per_number: int = 20
    number_window_s: int = 3600


def keyed_digest(secret: str, kind: str, value: str) -> str:
    """How Redis names a client address or a looked-up number (the lookup's counters), or
    holds what must not be guessable (a deletion's request fingerprint): a keyed hash, so it
    holds neither addresses nor numbers nor any string a guesser typed."""
    return hmac.new(secret.encode(), f"{kind}\n{value}".encode(), hashlib.sha256).hexdigest()


# --- applications and their history ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Application:
    number: str
    stage: Stage
    missing: tuple[str, ...]
    created_at: int  # ms
    updated_at: int  # ms: the last change of stage or missing list
    delete_at: int | None = None  # ms: when it and its history are deleted (once decided)

    @classmethod
    def parse(cls, fields: Mapping[str, Any]) -> Application:
        delete_at = fields.get("delete_at")
        return cls(
            number=str(fields["number"]),
            stage=Stage(fields["stage"]),
            missing=decode_missing(fields.get("missing")),
            created_at=int(fields["created_at"]),
            updated_at=int(fields["updated_at"]),
            delete_at=int(delete_at) if delete_at else None,
        )


DAY_MS = 86_400_000


def decision_deletes_at(decided_ms: int, keep_days_after_decision: int) -> int:
    """When an application decided at ``decided_ms`` is deleted, with its history."""
    return decided_ms + keep_days_after_decision * DAY_MS


def deletion_due(stage: Stage, now_ms: int, keep_days_after_decision: int) -> int | None:
    """When an application that reaches ``stage`` at ``now_ms`` is to be deleted: after
    the decision's retention. An open application is kept (None) - also one whose
    decision is reopened, until it is decided again."""
    if stage is Stage.DECIDED:
        return decision_deletes_at(now_ms, keep_days_after_decision)
    return None


class AuditAction(enum.StrEnum):
    CREATED = "created"
    STAGE = "stage"
    PIN_RESET = "pin_reset"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One change: who (a device id, never a person's name), what and when."""

    at: int  # ms
    device: str
    action: AuditAction
    number: str
    old_stage: Stage | None
    stage: Stage
    missing: tuple[str, ...]

    FIELDS: ClassVar[tuple[str, ...]] = (
        "at",
        "device",
        "action",
        "number",
        "old_stage",
        "stage",
        "missing",
    )

    @classmethod
    def parse(cls, fields: Mapping[str, str]) -> AuditEntry:
        """An entry as the scripts write it into the stream."""
        return cls(
            at=int(fields["at"]),
            device=fields["device"],
            action=AuditAction(fields["action"]),
            number=fields["number"],
            old_stage=Stage(fields["old_stage"]) if fields.get("old_stage") else None,
            stage=Stage(fields["stage"]),
            missing=decode_missing(fields.get("missing")),
        )


class ApplicationExists(Conflict):
    code = "application_exists"
    title = "Application exists"


class NoSuchApplication(NotFound):
    code = "application_not_found"
    title = "No such application"


class DeletedSince(Conflict):
    """A retried change whose application was deleted by hand after the first try."""

    code = "application_deleted_since"
    title = "Application deleted since"


class FiledAnew(Conflict):
    """A delete for an application that was deleted and filed anew under its number since
    the caseworker opened it (a page left open in another tab)."""

    code = "application_filed_anew"
    title = "Application filed anew"


class LookupFailed(NotFound):
    """A wrong PIN and an unknown number: one error, one text, one status."""

    code = "application_lookup_failed"
    title = "Number or PIN not right"

    def __init__(self) -> None:
        super().__init__(
            "The application number or the PIN is not right. Please check both "
            "on your letter and try again."
        )


class TooManyAttempts(WaitboardError):
    kind = ErrorKind.LIMITED
    code = "too_many_attempts"
    title = "Too many wrong attempts"

    def __init__(self, retry_after_s: int) -> None:
        minutes = -(-retry_after_s // 60)
        super().__init__(
            f"Too many wrong attempts for this number or from your address. "
            f"Please try again in {minutes} minute{'s' if minutes != 1 else ''}.",
            minutes=minutes,
        )
        self.retry_after_s = retry_after_s


# --- answers --------------------------------------------------------------------------------

Text = Callable[[str], str]


def stage_text(stage: Stage, text: Text) -> str:
    return text(f"applications.stage.{stage.value}")


def public_answer(app: Application, text: Text, tz: tzinfo) -> dict[str, Any]:
    """What the citizen sees: the stage explained, what is missing, and the day of the last
    change - never who made it."""
    return {
        "number": app.number,
        "stage": app.stage.value,
        "stage_text": stage_text(app.stage, text),
        "explanation": text(f"applications.explain.{app.stage.value}"),
        "missing": list(app.missing),
        "updated_at": iso(app.updated_at, tz),
        "delete_at": iso(app.delete_at, tz),
    }


def staff_answer(app: Application, text: Text, tz: tzinfo) -> dict[str, Any]:
    return {
        "number": app.number,
        "stage": app.stage.value,
        "stage_text": stage_text(app.stage, text),
        "missing": list(app.missing),
        "created_at": iso(app.created_at, tz),
        "updated_at": iso(app.updated_at, tz),
        "delete_at": iso(app.delete_at, tz),
    }


def audit_answer(entry: AuditEntry, tz: tzinfo) -> dict[str, Any]:
    return {
        "at": iso(entry.at, tz),
        "device": entry.device,
        "action": entry.action.value,
        "number": entry.number,
        "old_stage": entry.old_stage.value if entry.old_stage else None,
        "stage": entry.stage.value,
        "missing": list(entry.missing),
    }
