"""What a caseworker types about an application, checked without I/O: the number and the
list of missing documents."""

from __future__ import annotations

import pytest

from waitboard.core.application_fields import (
    InvalidChange,
    InvalidNumber,
    check_missing,
    check_number,
)
from waitboard.core.applications import Stage

NUMBER = "AB-2026-0042"


def test_numbers_are_normalised_and_checked() -> None:
    """Blanks and lower case are forgiven; anything else that is not a number is refused."""
    assert check_number(" ab-2026 -0042 ") == NUMBER
    assert check_number("A1B2") == "A1B2"
    for bad in ("", "AB1", "-AB12", "AB12-", "A" * 21, "AB_2026", "AB/2026", "ÄB-12"):
        with pytest.raises(InvalidNumber, match="4 to 20 characters"):
            check_number(bad)


def test_the_missing_list_fits_the_stage() -> None:
    """Only documents_missing has a list: 1-20 trimmed lines of at most 200 characters."""
    assert check_missing(Stage.DOCUMENTS_MISSING, ["  Mietvertrag ", "", " "]) == ("Mietvertrag",)
    assert check_missing(Stage.DECIDED, ["", "  "]) == ()
    cases = [
        (Stage.DOCUMENTS_MISSING, [], "at least one"),
        (Stage.DOCUMENTS_MISSING, [" "], "at least one"),
        (Stage.IN_REVIEW, ["Mietvertrag"], "leave it empty"),
        (Stage.DOCUMENTS_MISSING, [f"Nachweis {i}" for i in range(21)], "At most 20"),
        (Stage.DOCUMENTS_MISSING, ["x" * 201], "at most 200"),
        (Stage.DOCUMENTS_MISSING, ["Miet\x00vertrag"], "one plain line"),
        (Stage.DOCUMENTS_MISSING, ["Miet\tvertrag"], "one plain line"),
    ]
    for stage, items, says in cases:
        with pytest.raises(InvalidChange, match=says):
            check_missing(stage, items)
    assert len(check_missing(Stage.DOCUMENTS_MISSING, ["x" * 200] * 20)) == 20
