"""What a caseworker types about an application, checked: its number and the list of
missing documents. A refusal says what is wrong and where, so that it can be fixed in
place. Pure: no I/O."""

from __future__ import annotations

import re
from collections.abc import Iterable

from waitboard.core.applications import Stage
from waitboard.core.errors import Unprocessable

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
