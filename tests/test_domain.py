"""The pure rules: transitions, numbering, service day, queue order."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from waitboard.core.domain import (
    TRANSITIONS,
    Action,
    Layout,
    TicketStatus,
    next_status,
    pick_queue,
    service_day,
    ticket_number,
)
from waitboard.core.errors import InvalidTransition

BERLIN = ZoneInfo("Europe/Berlin")
S, A = TicketStatus, Action


@pytest.mark.parametrize(
    ("state", "action", "expected"),
    [
        (S.WAITING, A.CALL, S.CALLED),
        (S.CALLED, A.RECALL, S.CALLED),
        (S.CALLED, A.START, S.SERVING),
        (S.SERVING, A.COMPLETE, S.DONE),
        (S.CALLED, A.NO_SHOW, S.NO_SHOW),
        (S.WAITING, A.CANCEL, S.CANCELLED),
        (S.SERVING, A.TRANSFER, S.WAITING),
    ],
)
def test_the_normal_path_and_its_branches(state: S, action: A, expected: S) -> None:
    """waiting -> called -> serving -> done, with no-show, cancel and transfer."""
    assert next_status("A017", state, action) is expected


def test_impossible_transition_names_ticket_state_and_action() -> None:
    """Completing a waiting ticket is refused with a message naming all three."""
    with pytest.raises(InvalidTransition) as info:
        next_status("A017", S.WAITING, A.COMPLETE)
    message = str(info.value)
    assert "A017" in message and "waiting" in message and "complete" in message
    assert "serving" in message  # what would have been needed


def test_closed_tickets_accept_no_action() -> None:
    """done, no_show and cancelled are final."""
    for state in (S.DONE, S.NO_SHOW, S.CANCELLED):
        for action in A:
            assert (state, action) not in TRANSITIONS
            assert not state.is_open


def test_day_end_closes_every_open_state() -> None:
    """Whatever is open at midnight can be closed by the day change."""
    for state in S:
        assert ((state, A.DAY_END) in TRANSITIONS) == state.is_open


def test_ticket_numbers_have_at_least_three_digits() -> None:
    """A1 reads as A001; numbers past 999 keep counting."""
    assert ticket_number("A", 1) == "A001"
    assert ticket_number("B", 42) == "B042"
    assert ticket_number("A", 1234) == "A1234"
    with pytest.raises(ValueError, match="start at 1"):
        ticket_number("A", 0)


def test_service_day_is_the_local_date() -> None:
    """23:30 UTC on 24 Nov is already 25 Nov in Berlin: numbering restarts then."""
    assert service_day(datetime(2026, 11, 24, 23, 30, tzinfo=UTC), BERLIN) == date(2026, 11, 25)
    assert service_day(datetime(2026, 11, 24, 22, 59, tzinfo=UTC), BERLIN) == date(2026, 11, 24)


def test_service_day_on_dst_change_days() -> None:
    """Local midnight moves with daylight saving time (UTC+1 in winter, UTC+2 in summer)."""
    # 29 March 2026: clocks go forward at 02:00; midnight before was 23:00 UTC.
    assert service_day(datetime(2026, 3, 28, 22, 59, tzinfo=UTC), BERLIN) == date(2026, 3, 28)
    assert service_day(datetime(2026, 3, 28, 23, 0, tzinfo=UTC), BERLIN) == date(2026, 3, 29)
    # 25 October 2026: clocks go back; the midnight that starts it is 22:00 UTC.
    assert service_day(datetime(2026, 10, 24, 22, 0, tzinfo=UTC), BERLIN) == date(2026, 10, 25)
    assert service_day(datetime(2026, 10, 25, 22, 59, tzinfo=UTC), BERLIN) == date(2026, 10, 25)
    assert service_day(datetime(2026, 10, 25, 23, 0, tzinfo=UTC), BERLIN) == date(2026, 10, 26)


def test_service_day_refuses_naive_times() -> None:
    """A time without a zone is ambiguous and refused."""
    with pytest.raises(ValueError, match="aware"):
        service_day(datetime(2026, 11, 25, 8, 0), BERLIN)


def test_counter_takes_its_first_queue_with_someone_waiting() -> None:
    """Strict preference: B before A when both wait; A when B is empty; None when all are."""
    assert pick_queue(["B", "A"], {"A": 3, "B": 1}) == "B"
    assert pick_queue(["B", "A"], {"A": 3, "B": 0}) == "A"
    assert pick_queue(["B", "A"], {"A": 0}) is None


def test_layout_knows_which_counters_serve_a_queue() -> None:
    """Counters serving a queue, in configuration order."""
    layout = Layout(queues=("A", "B"), counters={"1": ("A",), "2": ("B", "A"), "3": ("B",)})
    assert layout.counters_serving("A") == ["1", "2"]
    assert layout.counters_serving("B") == ["2", "3"]
