"""The waiting-zone rules, without I/O.

A ticket moves ``waiting -> called -> serving -> done``; it can also end as ``no_show`` or
``cancelled``, be recalled while ``called`` and be transferred to another queue. The Lua
scripts in ``scripts/`` enforce exactly the table below (it is rendered into them), so the
rules live in one place.

Everything here is plain Python: no asyncio, no Redis, no web framework.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from waitboard.core.errors import InvalidTransition


class TicketStatus(enum.StrEnum):
    WAITING = "waiting"
    CALLED = "called"
    SERVING = "serving"
    DONE = "done"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"

    @property
    def is_open(self) -> bool:
        """An open ticket still needs someone's attention today."""
        return self in _OPEN


_OPEN = frozenset({TicketStatus.WAITING, TicketStatus.CALLED, TicketStatus.SERVING})


class Action(enum.StrEnum):
    CALL = "call"
    RECALL = "recall"
    START = "start"
    COMPLETE = "complete"
    NO_SHOW = "no_show"
    CANCEL = "cancel"
    TRANSFER = "transfer"
    # The service day ended with the ticket still open (nobody closed it before midnight).
    DAY_END = "day_end"


S, A = TicketStatus, Action

#: (state, action) -> next state. Anything not listed is refused.
TRANSITIONS: Mapping[tuple[TicketStatus, Action], TicketStatus] = {
    (S.WAITING, A.CALL): S.CALLED,
    (S.CALLED, A.RECALL): S.CALLED,
    (S.CALLED, A.START): S.SERVING,
    (S.SERVING, A.COMPLETE): S.DONE,
    (S.CALLED, A.NO_SHOW): S.NO_SHOW,
    (S.WAITING, A.CANCEL): S.CANCELLED,
    (S.CALLED, A.CANCEL): S.CANCELLED,
    # A transfer puts the ticket, with its number, at the end of another queue: the person
    # was sent on by reception or an advisor and now waits for the next service.
    (S.WAITING, A.TRANSFER): S.WAITING,
    (S.CALLED, A.TRANSFER): S.WAITING,
    (S.SERVING, A.TRANSFER): S.WAITING,
    (S.WAITING, A.DAY_END): S.CANCELLED,
    (S.CALLED, A.DAY_END): S.CANCELLED,
    (S.SERVING, A.DAY_END): S.CANCELLED,
}

del S, A


def allowed_from(action: Action) -> list[TicketStatus]:
    """The states in which ``action`` is allowed, in the order of the enum."""
    return [s for s in TicketStatus if (s, action) in TRANSITIONS]


def next_status(number: str, status: TicketStatus, action: Action) -> TicketStatus:
    """The state after ``action``; raises :class:`InvalidTransition` naming the ticket."""
    try:
        return TRANSITIONS[(status, action)]
    except KeyError:
        raise InvalidTransition(
            number, status.value, action.value, [s.value for s in allowed_from(action)]
        ) from None


# --- numbering ------------------------------------------------------------------------------


def ticket_number(prefix: str, n: int) -> str:
    """``A`` and 17 -> ``A017``: at least three digits, so numbers sort and read evenly."""
    if n < 1:
        raise ValueError(f"ticket numbers start at 1, got {n}")
    return f"{prefix}{n:03d}"


def service_day(now: datetime, tz: tzinfo) -> date:
    """The local calendar day a moment belongs to: numbering restarts at local midnight."""
    if now.tzinfo is None:
        raise ValueError("service_day needs an aware datetime")
    return now.astimezone(tz).date()


# --- queue order ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Layout:
    """What the rules need to know of a location: its queues and who serves them.

    ``counters`` maps a counter id to the queues it serves, most preferred first.
    """

    queues: tuple[str, ...]
    counters: Mapping[str, tuple[str, ...]]

    def counters_serving(self, queue: str) -> list[str]:
        return [c for c, qs in self.counters.items() if queue in qs]


def pick_queue(
    preferences: Sequence[str], waiting: Mapping[str, int], due: Mapping[str, bool] | None = None
) -> str | None:
    """The queue a counter takes its next ticket from.

    ``due`` names the appointment queues among them with whether the first person in
    line (ordered by slot time) is due now. In this order:

    1. an appointment whose time has come: booked time is kept, whatever the counter's
       order of preference;
    2. otherwise strict preference among the walk-in queues: the first in the counter's
       order that has someone waiting;
    3. otherwise someone who came early for an appointment, rather than an idle counter.

    Within a queue the order is first come, first served (appointments: by slot time).
    ``call_next.lua`` applies the same three steps, and the estimate plays them forward
    (``estimate.forecast``); tests/test_model.py and tests/test_estimate.py hold both to
    this function.
    """
    appointments = due or {}
    for queue in preferences:
        if waiting.get(queue, 0) > 0 and appointments.get(queue):
            return queue
    for queue in preferences:
        if waiting.get(queue, 0) > 0 and queue not in appointments:
            return queue
    for queue in preferences:
        if waiting.get(queue, 0) > 0:
            return queue
    return None
