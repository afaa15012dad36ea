"""The hub's decisions that need no Redis."""

from __future__ import annotations

import pytest

from waitboard.hub import drift


@pytest.mark.parametrize(
    ("read", "shown", "before", "expected"),
    [
        (("e1", 7), ("e1", 7), ("e1", 7), None),  # in step
        (("e1", 8), ("e1", 7), ("e1", 7), "drift"),  # a change whose doorbell got lost
        (("e1", 7), ("e1", 9), ("e1", 7), None),  # the view moved on while the answer came
        (("e1", 8), ("e1", 9), ("e1", 7), None),  # ... and the read fell in between
        (("e1", 5), ("e1", 7), ("e1", 7), "rewound"),  # Redis restored from an older copy
        (("e1", 5), ("e1", 9), ("e1", 7), "rewound"),  # ... also while the view moved on
        (("e2", 1), ("e1", 7), ("e1", 7), "drift"),  # the location's data lost: a new epoch
        (("e1", 7), ("e2", 1), ("e1", 7), "drift"),  # a read of the old epoch: reload to be sure
    ],
)
def test_a_seq_check_reloads_only_a_view_that_misses_changes(
    read: tuple[str, int], shown: tuple[str, int], before: tuple[str, int], expected: str | None
) -> None:
    """The seq check reloads a view Redis is ahead of or behind, not one that moved on."""
    assert drift(read, shown, before) == expected
