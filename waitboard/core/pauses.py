"""A counter's pause: its reasons, the commands on a counter, and when a paused counter is
expected back.

A paused counter serves nobody (screens show "Pause", the queues do not count it as open),
but unlike a closed one it is coming back: the estimate plays it as free after the usual
length of a pause of that reason, which the scripts learn from finished pauses (a
recent-weighted mean per location and reason, ``pause:<reason>`` in the learned values),
shrunk towards a prior as service times are. Pure: no I/O.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from waitboard.core.errors import CounterBusy, CounterClosed, CounterPaused


class PauseReason(enum.StrEnum):
    BREAK = "break"
    PAPERWORK = "paperwork"
    MEETING = "meeting"
    OTHER = "other"


class CounterMode(enum.StrEnum):
    OPEN = "open"
    PAUSED = "paused"
    CLOSED = "closed"


class CounterCommand(enum.StrEnum):
    OPEN = "open"
    CLOSE = "close"
    PAUSE = "pause"
    RESUME = "resume"


#: The usual minutes of a pause before any has been seen at a location.
PRIOR_MINUTES: Mapping[PauseReason, float] = {
    PauseReason.BREAK: 15.0,
    PauseReason.PAPERWORK: 10.0,
    PauseReason.MEETING: 30.0,
    PauseReason.OTHER: 15.0,
}
#: The prior counts as this many observed pauses (as estimate.PRIOR_WEIGHT for services).
PRIOR_WEIGHT = 3.0
#: A paused counter is never expected back sooner than this: "any moment" is not "now".
MIN_RETURN_S = 60.0
#: A pause past its usual length: expected back within this share of the usual length.
OVERRUN_SHARE = 0.25
#: A pause this many times its usual length is taken as forgotten (a counter left paused
#: at the end of a shift): the estimate counts the counter as closed, and its length teaches
#: nothing about the usual pause (counter.lua gets the bound in ``pause_caps``).
FORGOTTEN_FACTOR = 3.0


@dataclass(frozen=True, slots=True)
class CounterNowState:
    """What a command on a counter needs to know of it."""

    mode: CounterMode
    reason: PauseReason | None = None
    busy: bool = False  # a ticket is called or served there


def apply(
    counter: str, now: CounterNowState, command: CounterCommand, reason: PauseReason | None = None
) -> CounterNowState:
    """The counter after ``command``, or the refusal (the scripts' counter.lua does the same).

    Close and pause are refused while a ticket is called or served there; pause only from
    open or paused (then only the reason changes); open on a paused counter resumes it;
    resume on an open counter changes nothing, on a closed one is refused."""
    busy = now.busy
    if command is CounterCommand.OPEN or command is CounterCommand.RESUME:
        if command is CounterCommand.RESUME and now.mode is CounterMode.CLOSED:
            raise CounterClosed(f"Counter {counter} is closed; open it first.", counter=counter)
        return CounterNowState(CounterMode.OPEN, None, busy)
    if busy:
        raise CounterBusy(f"Counter {counter} still has a ticket.", counter=counter)
    if command is CounterCommand.CLOSE:
        return CounterNowState(CounterMode.CLOSED, None, busy)
    if reason is None:
        raise ValueError("a pause needs a reason")
    if now.mode is CounterMode.CLOSED:
        raise CounterClosed(f"Counter {counter} is closed; open it first.", counter=counter)
    return CounterNowState(CounterMode.PAUSED, reason, busy)


def refuse_call(counter: str, now: CounterNowState) -> None:
    """call-next is possible only at an open counter."""
    if now.mode is CounterMode.PAUSED:
        raise CounterPaused(f"Counter {counter} is paused; resume it first.", counter=counter)
    if now.mode is CounterMode.CLOSED:
        raise CounterClosed(f"Counter {counter} is closed; open it first.", counter=counter)


def usual_s(learn: Mapping[str, float], reason: PauseReason, prior_s: float | None = None) -> float:
    """The usual length of a pause of ``reason`` at a location: the learned recent-weighted
    mean, shrunk towards the prior by PRIOR_WEIGHT (few pauses seen: mostly the prior)."""
    prior = prior_s if prior_s is not None else PRIOR_MINUTES[reason] * 60
    mean = learn.get(f"pause:{reason.value}")
    n = learn.get(f"pause:{reason.value}:n", 0.0)
    if mean is None or n <= 0:
        return prior
    return (n * mean + PRIOR_WEIGHT * prior) / (n + PRIOR_WEIGHT)


def back_in_s(usual: float, paused_for_s: float) -> float | None:
    """Seconds until a paused counter is expected back: the rest of its usual pause; one
    that has run past its usual length is expected soon (a share of it), never at once;
    None for one paused so long that it was forgotten (not coming back: as if closed), so
    that a counter left paused does not keep every wait short for the rest of the day."""
    if paused_for_s >= FORGOTTEN_FACTOR * usual:
        return None
    rest = usual - max(0.0, paused_for_s)
    if rest <= 0:
        rest = OVERRUN_SHARE * usual
    return max(MIN_RETURN_S, rest)


def prior_s(reason: PauseReason, pause_minutes: Mapping[Any, float]) -> float:
    """The usual seconds of a pause of ``reason`` before any was seen: the location's own
    (``pause_minutes``) or the default."""
    minutes = pause_minutes.get(reason.value)
    return (minutes if minutes else PRIOR_MINUTES[reason]) * 60


def parse_reason(value: object) -> PauseReason | None:
    """A stored reason; None when not paused. A reason this version does not know counts
    as "other"."""
    try:
        return PauseReason(str(value)) if value else None
    except ValueError:
        return PauseReason.OTHER
