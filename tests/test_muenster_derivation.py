"""The derivation of arrivals and calls from the Münster display's records
(benchmarks/muenster.py): the rules on small hand-made days, and floors on two real ones."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from benchmarks.muenster import BERLIN, Row, Series, derive, read_day

HEADER = (
    "Datum und Uhrzeit,Anzahl wartender Personen,durchschnittliche Wartezeit in Minuten,"
    "nächste Nummer,letzte Aktualisierung"
)
REAL = Path(__file__).parent / "data" / "muenster"


def write_day(tmp_path: Path, lines: list[str], name: str = "2019-11-12.csv") -> Path:
    """A CSV with the real header; each line "HH:MM,waiting,published,number[,updated]"
    (updated defaults to the row's time)."""
    out = [HEADER]
    for line in lines:
        parts = line.split(",")
        if len(parts) == 4:
            parts.append(parts[0])
        out.append(f"2019-11-12 {parts[0]}," + ",".join(parts[1:]))
    path = tmp_path / name
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


def at(hhmm: str) -> datetime:
    h, m = map(int, hhmm.split(":"))
    return datetime(2019, 11, 12, h, m, tzinfo=BERLIN)


def counts(path: Path) -> tuple[list[int], list[int]]:
    d = derive(read_day(path))
    return [i.calls for i in d.intervals], [i.arrivals for i in d.intervals]


def test_a_single_series_climbing(tmp_path: Path) -> None:
    path = write_day(tmp_path, ["10:00,2,5,100", "10:05,3,5,103", "10:10,1,4,106"])
    d = derive(read_day(path))
    # the first row's number was called before the opening: not counted
    assert d.series == [Series(first=100, last=106, calls=6)]
    assert [i.calls for i in d.intervals] == [3, 3]
    assert [i.arrivals for i in d.intervals] == [4, 1]  # 3 - 2 + 3, 1 - 3 + 3
    assert d.opening == at("10:00")
    assert d.initial_waiting == 2
    assert len(d.calls) == 6
    assert len(d.arrivals) == 5
    # 6 calls in the 10 minutes of the hour there are, scaled to the hour: 36, 6 per counter
    assert [i.counters for i in d.intervals] == [6, 6]
    assert [i.published_min for i in d.intervals] == [5, 4]
    assert [i.recorded_waiting for i in d.intervals] == [3, 1]
    assert d.notes == []


def test_wrap_around(tmp_path: Path) -> None:
    path = write_day(tmp_path, ["10:00,5,5,997", "10:05,5,5,999", "10:10,5,5,2", "10:15,5,5,5"])
    d = derive(read_day(path))
    assert d.series == [Series(first=997, last=5, calls=8)]
    assert [i.calls for i in d.intervals] == [2, 3, 3]
    assert [i.arrivals for i in d.intervals] == [2, 3, 3]


def test_two_interleaved_series(tmp_path: Path) -> None:
    path = write_day(
        tmp_path,
        ["10:00,3,5,101", "10:05,3,5,12", "10:10,3,5,104", "10:15,3,5,14", "10:20,3,5,108"],
    )
    d = derive(read_day(path))
    assert d.series == [Series(101, 108, 7), Series(12, 14, 3)]
    # 101 -> 104 spread 2 + 1 over the two intervals; 12 is one call; 12 -> 14 is 1 + 1;
    # 104 -> 108 is 2 + 2
    assert [i.calls for i in d.intervals] == [3, 2, 3, 2]
    assert [i.arrivals for i in d.intervals] == [3, 2, 3, 2]


def test_staying_equal_is_no_call_and_a_number_behind_starts_a_series(tmp_path: Path) -> None:
    path = write_day(tmp_path, ["10:00,3,5,150", "10:05,3,5,150", "10:10,3,5,140"])
    d = derive(read_day(path))
    assert [i.calls for i in d.intervals] == [0, 1]
    assert d.series == [Series(150, 150, 0), Series(140, 140, 1)]


def test_a_gap_of_rows_is_a_longer_interval(tmp_path: Path) -> None:
    path = write_day(tmp_path, ["10:00,2,5,100", "10:40,4,5,110"])
    d = derive(read_day(path))
    assert [i.calls for i in d.intervals] == [10]
    assert [i.arrivals for i in d.intervals] == [12]
    assert d.notes == ["gap 10:00-10:40 (40 min)"]
    assert all(at("10:00") < t <= at("10:40") for t in d.arrivals + d.calls)


def test_an_advance_is_spread_by_length_over_an_empty_number(tmp_path: Path) -> None:
    path = write_day(tmp_path, ["10:00,1,5,100", "10:05,0,5,", "10:20,1,5,120"])
    rows = read_day(path)
    assert rows[1].number is None
    d = derive(rows)
    assert [i.calls for i in d.intervals] == [5, 15]  # 20 over 5 and 15 minutes
    assert [i.arrivals for i in d.intervals] == [4, 16]
    assert d.series == [Series(100, 120, 20)]


def test_a_gap_over_an_hour_invents_no_calls(tmp_path: Path) -> None:
    path = write_day(tmp_path, ["10:00,5,5,100", "11:30,2,5,130", "11:35,2,5,132"])
    d = derive(read_day(path))
    # across the gap only the waiting difference: 3 left, none arrived
    assert [i.calls for i in d.intervals] == [3, 2]
    assert [i.arrivals for i in d.intervals] == [0, 2]
    assert "gap 10:00-11:30 (90 min): no calls invented across it" in d.notes
    assert "30 calls of number advances across a long gap not counted" in d.notes


def test_more_leaving_than_calls_seen_raises_the_calls(tmp_path: Path) -> None:
    path = write_day(tmp_path, ["10:00,8,5,100", "10:05,2,5,102"])
    d = derive(read_day(path))
    assert [i.calls for i in d.intervals] == [6]  # 2 seen, 6 left the queue
    assert [i.arrivals for i in d.intervals] == [0]
    assert d.series == [Series(100, 102, 2)]
    assert d.waiting_fit_mae == 0.0
    assert d.dropped_calls == 0


def test_placement_is_reproducible(tmp_path: Path) -> None:
    lines = [f"10:{m:02d},{m % 7},5,{100 + m}" for m in range(0, 60, 5)]
    rows = read_day(write_day(tmp_path, lines))
    a, b = derive(rows, seed=3), derive(rows, seed=3)
    assert a.arrivals == b.arrivals
    assert a.calls == b.calls
    assert a == b
    assert derive(rows, seed=4).calls != a.calls
    assert a.arrivals == sorted(a.arrivals)
    assert a.calls == sorted(a.calls)
    for i in a.intervals:  # every event inside its interval, as many as derived
        assert sum(i.start < t <= i.end for t in a.calls) == i.calls
        assert sum(i.start < t <= i.end for t in a.arrivals) == i.arrivals
        assert i.counters >= (1 if i.calls else 0)


def test_the_fit_is_zero_when_the_events_follow_the_record(tmp_path: Path) -> None:
    # every interval starts with at least as many waiting as are called in it
    path = write_day(tmp_path, ["10:00,5,5,100", "10:05,6,5,102", "10:10,4,5,105"])
    for seed in range(10):
        d = derive(read_day(path), seed=seed)
        assert d.waiting_fit_mae == 0.0
        assert d.dropped_calls == 0


def test_a_call_is_never_drawn_before_the_person_it_calls(tmp_path: Path) -> None:
    """Nobody waits; one arrives and one is called in the interval: whatever the draw, the
    call comes at or after the arrival, nothing is dropped and the queue follows the record."""
    rows = read_day(write_day(tmp_path, ["10:00,0,5,", "10:05,0,5,101", "10:10,2,5,101"]))
    for seed in range(20):
        d = derive(rows, seed=seed)
        assert d.calls[0] >= d.arrivals[0], seed
        assert d.dropped_calls == 0 and d.waiting_fit_mae == 0


def test_read_day_skips_malformed_rows(tmp_path: Path) -> None:
    path = tmp_path / "2019-11-12.csv"
    path.write_text(
        "\n".join(
            [
                HEADER,
                "2019-11-12 10:05,3,4,103,10:04",
                "2019-11-12 10:00,2,,,09:58",  # earlier (sorted), no published wait
                "not a time,3,4,103,10:04",
                "2019-11-12 10:10,three,4,104,10:09",
                "2019-11-12 10:15,3,4,1o5,10:14",
                "2019-11-12 10:20,-1,4,105,10:19",
                "2019-11-12 10:25",
                "",
                "2019-11-12 10:30,1,3,107,10:29",
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    rows = read_day(path)
    assert [(r.at, r.waiting, r.published_min, r.number) for r in rows] == [
        (at("10:00"), 2, None, None),
        (at("10:05"), 3, 4, 103),
        (at("10:30"), 1, 3, 107),
    ]
    assert rows[0].updated == at("09:58")
    assert rows[0].at.utcoffset() == timedelta(hours=1)  # CET in November


def test_repeated_times_and_a_display_that_stood_still_are_noted(tmp_path: Path) -> None:
    path = write_day(
        tmp_path,
        ["10:00,3,5,100", "10:05,3,5,101", "10:05,3,5,102", "10:30,3,5,102,10:05", "10:35,3,5,110"],
    )
    d = derive(read_day(path))
    assert d.notes == [
        "1 rows with a repeated time (the last kept)",
        "display stood still 10:30-10:30 (1 rows, last update 10:05)",
        "gap 10:05-10:30 (25 min)",
    ]
    # 102 -> 110 spread over 25 and 5 minutes (the stale row's number is no observation)
    assert [i.calls for i in d.intervals] == [2, 7, 1]


def test_a_single_row(tmp_path: Path) -> None:
    d = derive(read_day(write_day(tmp_path, ["10:52,19,36,151"])))
    assert d.intervals == []
    assert d.initial_waiting == 19
    assert d.waiting_fit_mae == 0.0
    assert d.notes == ["a single row"]
    assert d.series == [Series(151, 151, 0)]


def test_rows_can_be_made_by_hand() -> None:
    rows = [Row(at("10:00"), 1, 3, 100), Row(at("10:05"), 1, 3, 101)]
    d = derive(rows)
    assert [i.calls for i in d.intervals] == [1]


# Floors on two real days (tests/data/muenster/README.md): measured with seeds 0-4, the
# ordinary day fits to 1.85-2.75 people (2-3 dropped calls), the jam day to 0.
REAL_DAYS = {
    # day: (calls range, arrivals range, fit bound)
    "2019-11-12": ((350, 500), (350, 500), 4.0),
    "2019-10-08": ((550, 850), (550, 850), 1.0),
}


def test_real_days() -> None:
    for day, ((c_lo, c_hi), (a_lo, a_hi), bound) in REAL_DAYS.items():
        rows = read_day(REAL / f"{day}.csv")
        assert len(rows) == 120
        for seed in range(3):
            d = derive(rows, seed=seed)
            assert d.waiting_fit_mae < bound, (day, seed, d.waiting_fit_mae)
            assert c_lo <= len(d.calls) <= c_hi, (day, len(d.calls))
            assert a_lo <= len(d.arrivals) <= a_hi, (day, len(d.arrivals))
            assert d.dropped_calls <= 6
            assert sum(i.calls for i in d.intervals) == len(d.calls)
            assert all(i.counters >= 1 for i in d.intervals if i.calls)
            # the main walk-in series climbs through the day
            main = max(d.series, key=lambda s: s.calls)
            assert main.first < 150 < 350 < main.last
