"""The hub's decisions that need no Redis."""

from __future__ import annotations

import pytest

from waitboard.hub import drifted


@pytest.mark.parametrize(
    ("read", "shown", "before", "expected"),
    [
        (("e1", 7), ("e1", 7), ("e1", 7), False),  # in step
        (("e1", 8), ("e1", 7), ("e1", 7), True),  # a change whose doorbell got lost
        (("e1", 7), ("e1", 9), ("e1", 7), False),  # the view moved on while the answer came
        (("e1", 8), ("e1", 9), ("e1", 7), False),  # ... and the read fell in between
        (("e1", 5), ("e1", 7), ("e1", 7), True),  # Redis went back (a restore)
        (("e1", 5), ("e1", 9), ("e1", 7), True),  # ... also while the view moved on
        (("e2", 1), ("e1", 7), ("e1", 7), True),  # a new day's epoch
        (("e1", 7), ("e2", 1), ("e1", 7), True),  # a read of the old epoch: reload to be sure
    ],
)
def test_a_seq_check_reloads_only_a_view_that_misses_changes(
    read: tuple[str, int], shown: tuple[str, int], before: tuple[str, int], expected: bool
) -> None:
    """The seq check reloads a view Redis is ahead of or behind, not one that moved on."""
    assert drifted(read, shown, before) is expected
