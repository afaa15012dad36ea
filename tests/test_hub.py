"""The hub's mechanisms that need no Redis: the seq check's verdict, its supervised loops,
and the business-day roll beside it. (Its decisions: tests/test_view.py.)"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from tests.helpers import TIMEOUT
from waitboard.app import roll_days_forever
from waitboard.live.location import drift
from waitboard.settings import load_office
from waitboard.tasks import supervise


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


async def test_a_failing_loop_restarts_after_a_growing_pause(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A loop that keeps failing is logged and restarted, each pause twice the last."""
    monkeypatch.setattr("waitboard.tasks.FIRST_RESTART_S", 0.01)
    runs = 0
    done = asyncio.Event()

    async def loop() -> None:
        nonlocal runs
        runs += 1
        if runs == 4:
            done.set()
            await asyncio.sleep(3600)
        raise ConnectionError("Redis is down")

    task = asyncio.create_task(supervise("test", loop))
    try:
        await asyncio.wait_for(done.wait(), TIMEOUT)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    pauses = [r.restart_in_s for r in caplog.records if r.name == "waitboard.tasks"]
    assert pauses == [0.01, 0.02, 0.04]


async def test_the_day_roll_runs_for_every_location_and_survives_failures(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The lifespan's day roll asks for every location again and again, Redis down or not."""
    monkeypatch.setattr("waitboard.tasks.FIRST_RESTART_S", 0.01)
    office = load_office(Path(__file__).resolve().parent / "office.toml")
    rolled: list[str] = []
    enough = asyncio.Event()

    class Store:
        async def roll_day(self, location: str) -> None:
            rolled.append(location)
            if len(rolled) == 3:
                raise ConnectionError("Redis is down")  # the task is restarted
            if len(rolled) >= 6:
                enough.set()

    task = asyncio.create_task(
        supervise("day roll", lambda: roll_days_forever(Store(), office, 0.001))  # type: ignore[arg-type]
    )
    try:
        await asyncio.wait_for(enough.wait(), TIMEOUT)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert rolled[:2] == ["sued", "nord"] and rolled[3:5] == ["sued", "nord"]
