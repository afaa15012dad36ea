"""The wait estimate of the spine: configured service time, open and free counters."""

from __future__ import annotations

import pytest

from waitboard.estimate import wait_seconds


def test_no_open_counter_means_unknown() -> None:
    """Without an open counter nobody can say how long it takes."""
    assert wait_seconds(1, 360, open_counters=0) is None


def test_free_counters_take_the_first_in_line_at_once() -> None:
    """Two free counters: positions 1 and 2 wait 0 s, position 3 one service."""
    assert wait_seconds(1, 360, open_counters=2, free_counters=2) == 0
    assert wait_seconds(2, 360, open_counters=2, free_counters=2) == 0
    assert wait_seconds(3, 360, open_counters=2, free_counters=2) == 360


def test_busy_counters_share_the_line() -> None:
    """Two busy counters, 6 min each: position 1-2 one service, 3-4 two services."""
    assert wait_seconds(1, 360, open_counters=2) == 360
    assert wait_seconds(2, 360, open_counters=2) == 360
    assert wait_seconds(3, 360, open_counters=2) == 720


def test_position_starts_at_one() -> None:
    """Position 0 does not exist."""
    with pytest.raises(ValueError, match="position"):
        wait_seconds(0, 360, open_counters=1)
