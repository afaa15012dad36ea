"""core/pauses.py without I/O: the counter's commands and when a paused counter is back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.helpers import office_with_sued
from waitboard.core import estimate, pauses, snapshot
from waitboard.core.clock import to_ms
from waitboard.core.errors import ConfigError, CounterBusy, CounterClosed, CounterPaused
from waitboard.core.pauses import CounterCommand, CounterMode, CounterNowState, PauseReason
from waitboard.core.state import CounterState, LocationState, QueueState

OPEN = CounterNowState(CounterMode.OPEN)
CLOSED = CounterNowState(CounterMode.CLOSED)
BREAK = CounterNowState(CounterMode.PAUSED, PauseReason.BREAK)


@pytest.mark.parametrize(
    ("before", "command", "reason", "after"),
    [
        (OPEN, CounterCommand.PAUSE, PauseReason.BREAK, BREAK),
        (BREAK, CounterCommand.PAUSE, PauseReason.BREAK, BREAK),
        (
            BREAK,
            CounterCommand.PAUSE,
            PauseReason.MEETING,
            CounterNowState(CounterMode.PAUSED, PauseReason.MEETING),
        ),
        (BREAK, CounterCommand.RESUME, None, OPEN),
        (BREAK, CounterCommand.OPEN, None, OPEN),
        (BREAK, CounterCommand.CLOSE, None, CLOSED),
        (OPEN, CounterCommand.RESUME, None, OPEN),
        (CLOSED, CounterCommand.OPEN, None, OPEN),
    ],
)
def test_counter_commands(
    before: CounterNowState,
    command: CounterCommand,
    reason: PauseReason | None,
    after: CounterNowState,
) -> None:
    """Pause from open, a new reason while paused, resume (or open) back to open, close
    from a pause; what is so already stays so."""
    assert pauses.apply("1", before, command, reason) == after


def test_refusals_say_what_to_do_first() -> None:
    """A counter with someone at it neither pauses nor closes; a closed one neither pauses
    nor resumes; a paused one calls nobody."""
    busy = CounterNowState(CounterMode.OPEN, busy=True)
    with pytest.raises(CounterBusy):
        pauses.apply("1", busy, CounterCommand.PAUSE, PauseReason.BREAK)
    with pytest.raises(CounterBusy):
        pauses.apply("1", busy, CounterCommand.CLOSE)
    with pytest.raises(CounterClosed, match="open it first"):
        pauses.apply("1", CLOSED, CounterCommand.PAUSE, PauseReason.BREAK)
    with pytest.raises(CounterClosed):
        pauses.apply("1", CLOSED, CounterCommand.RESUME)
    with pytest.raises(CounterPaused, match="resume it first"):
        pauses.refuse_call("1", BREAK)
    with pytest.raises(CounterClosed):
        pauses.refuse_call("1", CLOSED)
    pauses.refuse_call("1", OPEN)


def test_the_usual_length_starts_at_the_prior_and_follows_what_was_seen() -> None:
    """Nothing seen: the reason's prior (break 15 min, meeting 30); a learned mean weighs in
    with its count against the prior's weight, so a few pauses move it part of the way."""
    assert pauses.usual_s({}, PauseReason.BREAK) == 15 * 60
    assert pauses.usual_s({}, PauseReason.MEETING) == 30 * 60
    learn = {"pause:break": 25 * 60.0, "pause:break:n": 3.0}
    assert pauses.usual_s(learn, PauseReason.BREAK) == pytest.approx(20 * 60)
    many = {"pause:break": 25 * 60.0, "pause:break:n": 300.0}
    assert pauses.usual_s(many, PauseReason.BREAK) == pytest.approx(25 * 60, rel=0.02)
    assert pauses.usual_s(learn, PauseReason.PAPERWORK) == 10 * 60  # another reason's own


def test_a_paused_counter_is_back_after_the_rest_of_its_usual_pause() -> None:
    """The rest of the usual length; past it, a share of it (soon, not now); never less
    than the floor."""
    assert pauses.back_in_s(900, 300) == 600
    assert pauses.back_in_s(900, 1200) == pytest.approx(pauses.OVERRUN_SHARE * 900)
    assert pauses.back_in_s(900, 880) == pauses.MIN_RETURN_S
    assert pauses.back_in_s(100, 200) == pauses.MIN_RETURN_S


def test_a_pause_three_times_its_usual_length_is_taken_as_forgotten() -> None:
    """A counter left paused (three times the usual break) is not expected back at all."""
    assert pauses.back_in_s(900, 3 * 900 - 1) is not None
    assert pauses.back_in_s(900, 3 * 900) is None


def test_the_forecast_plays_a_paused_counter_from_its_return() -> None:
    """Two waiting, the only counter back in 10 minutes, 6 minutes a service: called at 10
    and 16 minutes."""
    counter = estimate.CounterNow(id="1", queues=("A",), busy_queue=None, free_in_s=600)
    waits = estimate.forecast([counter], {"A": 2}, lambda c, q: 360.0, {"A": None})
    assert waits["A"] == [600, 960]


def test_an_unknown_stored_reason_counts_as_other() -> None:
    """A reason written by a newer version is shown as "other", not an error."""
    assert pauses.parse_reason("lunch") is PauseReason.OTHER
    assert pauses.parse_reason("") is None and pauses.parse_reason(None) is None


def test_an_office_sets_its_own_usual_pause_lengths() -> None:
    """pause_minutes in the configuration is the prior: a break just begun there is
    expected back in its 20 minutes; an unknown reason or a length of 0 is refused."""
    office = office_with_sued(lambda loc: loc.update(pause_minutes={"break": 20}))
    loc = office.location_by_id["sued"]
    now = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    state = LocationState(
        epoch="e",
        seq=1,
        day="2026-11-25",
        queues={"A": QueueState(waiting=1, head_queued_at=to_ms(now))},
        counters={
            "1": CounterState(
                open=False, ticket=None, paused=PauseReason.BREAK, paused_at=to_ms(now)
            )
        },
        calls=(),
    )
    assert snapshot.forecast(loc, state, now, office.tz).raw("A", 1) == 1200
    for wrong in ({"lunch": 30}, {"break": 0}):
        with pytest.raises(ConfigError, match="pause_minutes"):
            office_with_sued(lambda loc, w=wrong: loc.update(pause_minutes=w))
