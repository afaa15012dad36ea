"""The real-data replay on two real days from the repository (tests/data/muenster): it
runs through the store, gives every ticket an estimate and a wait, and its estimate stays
above floors measured on these days. The speed is measured in benchmarks/, not here."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

from benchmarks.muenster import derive, read_day
from benchmarks.replay import (
    HINDSIGHT,
    METHODS,
    WARM_UP,
    comparable,
    replay,
    report,
    score,
    stretches_of,
    summary_line,
    warm_up_for,
)
from tests.helpers import ROOT

DAYS = sorted((ROOT / "tests" / "data" / "muenster").glob("*.csv"))


async def test_two_real_days_replay_with_an_estimate_for_everyone() -> None:
    run = await replay(DAYS, seed=1)
    assert len(run.days) == 2 and run.dropped == 0  # every derived call found someone
    told = comparable(run.told)
    # Nearly everyone issued is called the same day and told a number by every method.
    assert len(told) >= 0.95 * sum(len(d.arrivals) for d in run.days) - 20, len(told)
    s = score(told)
    assert s is not None
    # Floors (measured 3.4 min, 4.9 and 6.7 on these days): the estimate beats the last-30
    # average and the city's published figure, and its range holds most waits.
    assert s.mae["waitboard"] < s.mae["last 30"] < s.mae["published"] * 1.2, s.mae
    assert s.in_range >= 0.7, s.in_range
    assert abs(s.bias["waitboard"]) < 3 * 60, s.bias
    figures = report(run)
    assert set(figures["groups"]["all"]["all"]["mae_min"]) == {*METHODS, HINDSIGHT}
    assert figures["doubt"]["called"] >= len(told)
    assert re.fullmatch(
        r"replay: 2 days, \d+ tickets; MAE waitboard \d+\.\d min, fixed \d+\.\d min, "
        r"last-30 \d+\.\d min, published \d+\.\d min; mean wait \d+\.\d min; in range \d+ %",
        summary_line(run),
    )


def test_a_later_stretch_starts_with_the_weeks_before_it() -> None:
    """The year cut in two for two processes: the stretches follow each other without a
    gap, the second first replays the four weeks before it (an office keeps its history),
    and the cut leaves each process about as many arrivals to replay, warm-up included."""
    one = derive(read_day(DAYS[0]), seed=1)
    days = [replace(one, day=one.day + timedelta(days=i)) for i in range(60)]
    first, second = stretches_of(days, 2)
    assert first + second == days
    assert warm_up_for(first, days) == []
    warm = warm_up_for(second, days)
    assert [d.day for d in warm] == [second[0].day - WARM_UP + timedelta(days=i) for i in range(28)]
    assert abs(len(first) - (len(second) + len(warm))) <= 1
