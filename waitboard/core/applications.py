"""Application status, the pure part: the application, its stages, its history and when
it is deleted, and the answers that show it.

A caseworker files an application under its number and sets its stage; the citizen looks
the stage up with the number and the PIN printed on their letter. Everything here is plain
Python (no asyncio, no Redis, no web framework): :mod:`waitboard.store.applications` keeps
the values in Redis, :mod:`waitboard.web.applications` and :mod:`waitboard.pages.applications`
speak HTTP. What a caseworker types is checked in
:mod:`waitboard.core.application_fields`; the PIN and the guarded lookup are
:mod:`waitboard.core.application_pins`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any, ClassVar

import orjson

from waitboard.core.clock import iso
from waitboard.core.errors import Conflict, NotFound
from waitboard.core.marks import N_

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


# --- the list of missing documents as stored -----------------------------------------------


def encode_missing(items: Sequence[str]) -> str:
    """The list as stored: JSON, so that equal lists are equal strings."""
    return orjson.dumps(list(items)).decode()


def decode_missing(raw: str | bytes | None) -> tuple[str, ...]:
    return tuple(orjson.loads(raw)) if raw else ()


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


# --- answers --------------------------------------------------------------------------------

Text = Callable[[str], str]


#: Each stage in words, and what it means for the citizen (German source texts).
STAGE_TEXTS = {
    Stage.RECEIVED: N_("Eingegangen"),
    Stage.IN_REVIEW: N_("In Bearbeitung"),
    Stage.DOCUMENTS_MISSING: N_("Unterlagen fehlen"),
    Stage.DECIDED: N_("Entschieden"),
}
EXPLANATIONS = {
    Stage.RECEIVED: N_(
        "Ihr Antrag ist bei uns eingegangen. Wir beginnen bald mit der Bearbeitung; Sie müssen "
        "jetzt nichts tun."
    ),
    Stage.IN_REVIEW: N_("Wir bearbeiten Ihren Antrag gerade. Sie müssen jetzt nichts tun."),
    Stage.DOCUMENTS_MISSING: N_(
        "Damit wir weiterarbeiten können, brauchen wir noch Unterlagen von Ihnen. Bitte reichen "
        "Sie die unten genannten Unterlagen so bald wie möglich bei uns ein."
    ),
    Stage.DECIDED: N_(
        "Über Ihren Antrag ist entschieden. Den Bescheid schicken wir Ihnen mit der Post; er "
        "kann schon unterwegs sein."
    ),
}


def stage_text(stage: Stage, text: Text) -> str:
    return text(STAGE_TEXTS[stage])


def public_answer(app: Application, text: Text, tz: tzinfo) -> dict[str, Any]:
    """What the citizen sees: the stage explained, what is missing, and the day of the last
    change - never who made it."""
    return {
        "number": app.number,
        "stage": app.stage.value,
        "stage_text": stage_text(app.stage, text),
        "explanation": text(EXPLANATIONS[app.stage]),
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
