"""The wait estimate: the coming minutes played forward, with learned service times."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from waitboard.core.domain import pick_queue
from waitboard.core.estimate import (
    DEFAULT_BAND,
    NOTHING_LEARNED,
    Band,
    Booked,
    CounterNow,
    Learned,
    arrival_gap_s,
    calibrated,
    fixed_rule_s,
    forecast,
    forecast_with_newcomers,
    service_s,
)
from waitboard.core.pace import PACE_TAU_S, pace_wait_s, with_pace

SIX_MIN = 360.0


def same(counter: str, queue: str) -> float:
    return SIX_MIN


def test_no_open_counter_means_unknown() -> None:
    """Without an open counter nobody can say how long it takes."""
    assert forecast_with_newcomers([], {"A": 3}, same, {}) == {"A": [None] * 4}


def test_free_counters_take_the_first_in_line_at_once() -> None:
    """Two free counters: positions 1 and 2 wait 0 s, 3 and 4 one service, 5 two."""
    free = [CounterNow("1", ("A",), None), CounterNow("2", ("A",), None)]
    waits = forecast_with_newcomers(free, {"A": 4}, same, {})["A"]
    assert waits == [0, 0, SIX_MIN, SIX_MIN, 2 * SIX_MIN]


def test_a_busy_counter_finishes_its_current_ticket_first() -> None:
    """Busy for 4 of 6 minutes: the next person waits the remaining 2 minutes."""
    busy = [CounterNow("1", ("A",), "A", busy_for_s=240)]
    assert forecast_with_newcomers(busy, {"A": 1}, same, {})["A"] == [120, 120 + SIX_MIN]


def test_an_overlong_service_still_needs_some_time() -> None:
    """Past its mean, a service is not over: a long tail leaves at least 30% of it."""
    busy = [CounterNow("1", ("A",), "A", busy_for_s=3600)]
    assert forecast(busy, {"A": 1}, same, {})["A"] == [pytest.approx(0.3 * SIX_MIN)]


def test_a_counter_serves_its_preferred_queue_first() -> None:
    """Counter 2 prefers B: A's people wait until B is empty; a newcomer in B waits
    behind B's two, and would not delay A's waiting person."""
    counters = [CounterNow("2", ("B", "A"), None)]
    waits = forecast_with_newcomers(counters, {"A": 1, "B": 2}, same, {})
    assert waits["B"] == [0, SIX_MIN, 2 * SIX_MIN]
    assert waits["A"] == [2 * SIX_MIN, 3 * SIX_MIN]


def test_arrivals_in_a_preferred_queue_take_capacity() -> None:
    """If B gets someone every 6 minutes, a B-first counter does not reach A's queue
    within the hour; with B quiet it does at once."""
    counters = [CounterNow("2", ("B", "A"), "B", busy_for_s=0)]
    busy_b = forecast(counters, {"A": 1, "B": 0}, same, {"B": SIX_MIN}, horizon_s=3600)
    assert busy_b["A"][0] is None
    quiet_b = forecast(counters, {"A": 1, "B": 0}, same, {"B": None})
    assert quiet_b["A"][0] == SIX_MIN


def test_counters_that_do_not_serve_a_queue_do_not_help_it() -> None:
    """A counter serving only B is no help to A."""
    counters = [CounterNow("1", ("A",), "A", 0), CounterNow("3", ("B",), None)]
    assert forecast(counters, {"A": 1, "B": 0}, same, {})["A"][0] == SIX_MIN


def test_service_time_starts_at_the_configured_one_and_follows_observations() -> None:
    """Nothing learned: the configuration. Many observations: the learned mean."""
    assert service_s(NOTHING_LEARNED, "A", "1", prior_s=600) == 600
    learned = Learned.parse({"svc:A": 300, "svc:A:n": 200})
    assert service_s(learned, "A", "1", prior_s=600) == pytest.approx(300, rel=0.02)
    few = Learned.parse({"svc:A": 300, "svc:A:n": 3})
    assert 300 < service_s(few, "A", "1", prior_s=600) < 600  # still between the two


def test_a_counter_s_own_speed_counts_once_it_has_observations() -> None:
    """Counter 3 is slower than the queue's average; with enough data it shows."""
    learned = Learned.parse({"svc:A": 300, "svc:A:n": 100, "svc:A:3": 600, "svc:A:3:n": 50})
    assert service_s(learned, "A", "3", prior_s=300) > 550
    assert service_s(learned, "A", "1", prior_s=300) == pytest.approx(300)


def test_range_follows_the_calibrated_band() -> None:
    """Without calibration a default band; with one, its quantiles around the forecast."""
    told, (low, high) = calibrated(600, None)
    assert low < told == 600 < high
    assert calibrated(600, DEFAULT_BAND) == (told, (low, high))
    assert calibrated(600, Band(0.0, 0.0)) == (600, (600, 600))
    _, (narrow_low, narrow_high) = calibrated(600, Band(-0.1, 0.1))
    assert low < narrow_low < 600 < narrow_high < high
    assert calibrated(0, Band(-1.0, 1.0))[1][0] == 0  # never below zero


def test_the_range_is_a_ratio_of_the_wait() -> None:
    """Recent waits came out between half and twice their estimate (of the wait plus a
    minute): a 9-minute estimate's range runs from 4 to 19 minutes, a 29-minute one's from
    14 to 59 - a long wait's range is wider by as much as the wait is longer."""
    band = Band(math.log(0.5), math.log(2.0))
    assert calibrated(540, band)[1] == (240, 1140)
    assert calibrated(1740, band)[1] == (840, 3540)


def test_estimate_is_corrected_by_how_far_forecasts_were_off() -> None:
    """Forecasts of this size came out a tenth too long (the median ratio of wait + 1
    minute): the estimate says a tenth less, and stays within its range."""
    told, (low, high) = calibrated(540, Band(math.log(0.5), math.log(1.5), mid=math.log(0.9)))
    assert told == 480  # (540 + 60) x 0.9 - 60
    assert low <= told <= high


def test_the_fixed_rule() -> None:
    """People ahead x minutes per person / open counters; unknown without counters."""
    assert fixed_rule_s(4, 360, 2) == 720
    assert fixed_rule_s(4, 360, 0) is None


def test_learned_values_are_parsed_with_their_counts() -> None:
    """svc:/gap: fields become means with counts; the band needs both ends."""
    learned = Learned.parse(
        {
            "svc:A": 300,
            "svc:A:n": 4,
            "gap:A": 90,
            "gap:A:n": 7,
            "ratio_lo": -0.4,
            "ratio_hi": 0.5,
            "ratio_mid": -0.1,
            "ratio_lo@2": -0.6,
            "ratio_hi@2": 0.7,
        }
    )
    assert learned.service == {"A": (300, 4)} and learned.gap == {"A": (90, 7)}
    assert learned.band == Band(-0.4, 0.5, -0.1)
    assert learned.band_for(1000) == Band(-0.6, 0.7)  # 15-30 minutes: its own band
    assert learned.band_for(100) == learned.band  # no band of its own yet: the overall one
    assert Learned.parse({"ratio_lo": -0.4}).band is None


def test_the_pace_reads_the_wait_from_the_recent_rate_of_calls() -> None:
    """A call every 1.5 minutes for an hour (the fading count that gives): the fourth in
    line waits 4 x 1.5 minutes. While nobody is called the count fades and the pace slows
    at once; a stretch of too few calls, or a long pause, says nothing."""
    at, tau = 1_000_000.0, float(PACE_TAU_S)
    count = sum(math.exp(-k * 90 / tau) for k in range(40))
    raw = {"pace:A": count, "pace_at:A": at * 1000, "pace_from:A": (at - 3600) * 1000}
    learned = Learned.parse({**raw, "pace_n:A": 40})
    assert learned.pace["A"].calls == 40
    # (half-way to the next call: just after one, the count holds that call in full)
    assert pace_wait_s(learned.pace.get("A"), 4, at + 45) == pytest.approx(4 * 90, rel=0.05)
    stalled = pace_wait_s(learned.pace.get("A"), 4, at + 300)  # five minutes without a call
    assert stalled is not None and stalled > 4 * 90 * 1.3
    assert pace_wait_s(learned.pace.get("A"), 4, at + 4 * 3600) is None  # hours later
    assert pace_wait_s(learned.pace.get("B"), 1, at) is None
    assert pace_wait_s(Learned.parse({**raw, "pace_n:A": 3}).pace.get("A"), 1, at) is None


def test_the_pace_and_the_counters_forecast_are_weighed() -> None:
    assert with_pace(600.0, None) == 600.0
    assert with_pace(None, 300.0) is None
    blended = with_pace(600.0, 300.0)
    assert blended is not None and 300.0 < blended < 600.0


def test_odd_learned_values_cannot_make_the_forecast_run_away() -> None:
    """Millisecond services and arrivals (a test, a glitch) are floored; it stays fast."""
    learned = Learned.parse({"svc:A": 0.003, "svc:A:n": 500, "gap:A": 0.003, "gap:A:n": 500})
    assert service_s(learned, "A", "1", prior_s=360) >= 30
    counters = [CounterNow("1", ("A",), None)]
    waits = forecast(
        counters,
        {"A": 2},
        lambda c, q: service_s(learned, q, c, 360),
        {"A": arrival_gap_s(learned, "A")},
    )
    assert waits["A"] == [0, 30]


#: Walk-in queues and appointment queues for the property below.
WALK_INS, BOOKED_QUEUES = ("A", "B"), ("S", "T")
#: When someone checked in may be called (seconds from now; 0 or less: due already).
DUE_TIMES = st.lists(st.sampled_from([-600.0, 0.0, 300.0, 600.0, 1500.0, 4000.0]), max_size=3)


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(
    preferences=st.permutations(WALK_INS + BOOKED_QUEUES),
    served=st.integers(1, 4),
    walk_ins=st.tuples(st.integers(0, 3), st.integers(0, 3)),
    due_times=st.tuples(DUE_TIMES, DUE_TIMES),
)
def test_the_forecast_calls_in_the_order_of_domain_pick_queue(
    preferences: list[str],
    served: int,
    walk_ins: tuple[int, int],
    due_times: tuple[list[float], list[float]],
) -> None:
    """One counter, the queues it serves in any order, walk-ins and people checked in for
    appointments due at various times: the forecast calls them in the order the rule that
    call_next.lua applies (domain.pick_queue) gives, one service after another."""
    prefs = tuple(preferences[:served])
    waiting = dict(zip(WALK_INS, walk_ins, strict=True))
    slots = {q: sorted(times) for q, times in zip(BOOKED_QUEUES, due_times, strict=True)}
    booked = {q: Booked(waiting=times) for q, times in slots.items()}
    waits = forecast([CounterNow("1", prefs, None)], waiting, same, {}, booked=booked)

    expected: dict[str, list[float | None]] = {q: [None] * n for q, n in waiting.items()}
    expected.update({q: [None] * len(times) for q, times in slots.items()})
    left = {**waiting, **{q: len(times) for q, times in slots.items()}}
    t = 0.0
    while (
        queue := pick_queue(
            prefs,
            left,
            {q: left[q] > 0 and slots[q][-left[q]] <= t for q in BOOKED_QUEUES if q in prefs},
        )
    ) is not None:
        expected[queue][len(expected[queue]) - left[queue]] = t
        left[queue] -= 1
        t += SIX_MIN
    assert waits == expected
