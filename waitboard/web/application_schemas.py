"""The shapes of the application status API, as pydantic models.

Requests are validated with them and the OpenAPI document shows them; the constraints are
the core's (:mod:`waitboard.core.application_fields`, :mod:`waitboard.core.application_pins`),
so what the document calls valid is what the server accepts. Answers are built as dicts by
the core and only described here.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from waitboard.core.application_fields import (
    MISSING_ITEM_PATTERN,
    MISSING_MAX_CHARS,
    MISSING_MAX_ITEMS,
    NUMBER_INPUT_PATTERN,
)
from waitboard.core.application_pins import PIN_INPUT_PATTERN

StageName = Literal["received", "in_review", "documents_missing", "decided"]
ActionName = Literal["created", "stage", "pin_reset"]

Number = Annotated[
    str,
    Field(
        pattern=NUMBER_INPUT_PATTERN,
        min_length=4,
        max_length=20,
        examples=["AB-2026-0042"],
        description="The application number: 4-20 characters A-Z, 0-9 and '-' (lower case "
        "is taken as upper case).",
    ),
]
MissingItem = Annotated[
    str, Field(min_length=1, max_length=MISSING_MAX_CHARS, pattern=MISSING_ITEM_PATTERN)
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Open(BaseModel):
    # Answers may gain fields; clients ignore the ones they do not know.
    model_config = ConfigDict(extra="allow")


# --- requests -------------------------------------------------------------------------------


class LookupRequest(_Strict):
    number: Number
    pin: str = Field(
        pattern=PIN_INPUT_PATTERN,
        min_length=8,
        max_length=9,
        examples=["1234 5678"],
        description="The 8-digit PIN from the letter, with or without the blank.",
    )


class CreateApplicationRequest(_Strict):
    number: Number


class StageRequest(_Strict):
    number: Number
    stage: StageName
    missing: list[MissingItem] = Field(
        default_factory=list,
        max_length=MISSING_MAX_ITEMS,
        description="What the citizen still has to send, one line each; only (and then at "
        "least one) with documents_missing.",
    )


class PinRequest(_Strict):
    number: Number


class DeleteRequest(_Strict):
    number: Number
    created_at: str | None = Field(
        None,
        max_length=40,
        json_schema_extra={"format": "date-time"},
        description="Optional: the application's created_at as an answer gave it (e.g. "
        "2026-11-25T08:03:11+01:00). Then only that application is deleted; one deleted "
        "and filed anew under the number since gets 409 application_filed_anew.",
    )


# --- answers --------------------------------------------------------------------------------


class ApplicationStatus(_Open):
    """What the citizen learns: the stage explained, what is missing, the last change."""

    number: str
    stage: StageName
    stage_text: str = Field(description="The stage in words (German; English with ?lang=en).")
    explanation: str = Field(description="What the stage means for the citizen.")
    missing: list[str]
    updated_at: str
    delete_at: str | None = Field(
        description="When this status is deleted (the office's time after the decision); "
        "null while the application is open."
    )


class Application(_Open):
    """An application as caseworkers see it."""

    number: str
    stage: StageName
    stage_text: str
    missing: list[str]
    created_at: str
    updated_at: str
    delete_at: str | None = Field(
        description="When the application and its history are deleted; null while it is open."
    )


class ApplicationWithPin(Application):
    """The application with its (new) PIN - in this answer only: the server keeps just a
    hash. A replay of the request (same Idempotency-Key) has ``pin`` null; issue a new PIN
    if the first answer was lost."""

    pin: str | None = Field(description="8 digits, e.g. 12345678; null in a replay.")
    pin_display: str | None = Field(description="As printed on the letter: 1234 5678.")


class AuditEntry(_Open):
    at: str
    device: str = Field(description="The id of the device (caseworker's token) that acted.")
    action: ActionName
    number: str
    old_stage: StageName | None
    stage: StageName
    missing: list[str]


class ApplicationHistory(_Open):
    """An application and every change to it, oldest first."""

    application: Application
    entries: list[AuditEntry]


class Deleted(_Open):
    """The application, its PIN's record and its history are gone; the number is free."""

    number: str
    deleted: bool = Field(description="Always true: a retry (same Idempotency-Key) says so too.")
