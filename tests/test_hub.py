"""The hub's decisions and mechanisms that need no Redis."""

from __future__ import annotations

import asyncio

import pytest

from tests.helpers import TIMEOUT
from waitboard.live.hub import drift, supervise


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


async def test_a_loop_that_turns_its_cancellation_into_an_error_still_stops() -> None:
    """A hub loop ends when cancelled, even if a library makes the cancellation an error."""
    started = asyncio.Event()

    async def loop() -> None:
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            raise ConnectionError("closed on the way out") from None

    task = asyncio.create_task(supervise("test", loop))
    await asyncio.wait_for(started.wait(), TIMEOUT)
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=TIMEOUT)
    assert task in done, "the loop was started again instead of stopping"
    assert task.cancelled()
