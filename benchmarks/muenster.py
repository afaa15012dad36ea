"""Turn a real office's day into events for a replay: the Münster Bürgerbüro Mitte data.

The city's waiting-zone display was recorded every 5 minutes (see the data's README):
the people waiting, the published average wait, the number called last, and when the
display last changed. Individual tickets are not in the data; this module derives, per
day, when people arrived and when they were called, so that a replay can feed them to
waitboard. It is pure: it reads one CSV file and computes, nothing else (no Redis).

    python benchmarks/muenster.py --data DIR   # one line per day, then a summary

The rules (docs/estimates.md, "Replaying a real office's days: the derivation", says the
same with their limits):

0. Reading (``read_day``). Rows whose time, waiting count or number does not parse are
   skipped; rows are sorted by time (local, Europe/Berlin). In ``derive`` rows with the
   same time are collapsed to the last one (a note). A row is *stale* when its time is
   more than ``STALE_AFTER`` (20 minutes) past the display's "last update": the display
   stood still (after closing, on closed days, or stuck). A stale row's number is not
   an observation (the series' advance is spread across the stale stretch instead); its
   waiting count is still taken as recorded (it did not change anyway). Stretches of
   stale rows are noted.
1. Number series. Each observed number is assigned to a series: it continues a series if
   it lies in the same thousand (0-999, 5000-5999, ...) and at most ``MAX_STEP`` (40)
   ahead of that series' last number, counting modulo 1000 (so 997 -> 2 is 5 ahead: a
   series wraps around or restarts low); staying equal is no call. Of several candidates
   the nearest one wins (then the most recently seen). Otherwise the number starts a new
   series. Why 40: between rows 5 minutes apart a series advances 0-10 (99% of such
   steps before the pandemic), series shown rarely are seen again after an hour or more
   10-40 further on, and the series run in ranges 50-100 apart (e.g. ~20-100, ~100-450,
   5000-5300), so a number more than 40 ahead, or behind, is far likelier another series
   than a jump of this one; a larger step would glue separate series together and invent
   calls (about 1% of the 5-minute steps taken are 20-40 long already). A series'
   first observation is one call, in the interval ending at that row (none if it is the
   day's first row: that call happened before the opening); each later advance of d is
   d calls, spread over the intervals between the two observations in proportion to
   their length (cumulative rounding, so the parts sum to d exactly). A series seen once
   counts 1 call.
2. Arrivals follow the record: per interval, arrivals = waiting(end) - waiting(start) +
   calls. When that is negative, more people left the queue than the series showed
   (calls of a series never displayed, or people who gave up): calls are raised to match
   and arrivals are 0. Gaps (rows more than 5 minutes apart, up to ``BIG_GAP``, 60
   minutes) are just longer intervals (they take their share of a series' advance by
   length). An interval longer than 60 minutes is noted and no calls are invented across
   it: a series' advance spanning it is dropped, and arrivals/calls come from the waiting
   difference alone.
3. Placement: each interval's arrivals and calls are drawn uniformly in (start, end] by
   ``random.Random(seed + day.toordinal())``, interval by interval, arrivals first, then
   sorted; a call drawn while nobody is waiting moves to the next arrival of its interval
   (someone must be there to be called); the same rows and seed always give the same
   events. The people waiting at the
   first row (``initial_waiting``) arrive just before the opening and are not in
   ``arrivals``.
4. Counters at work (an assumption: the data do not say how many counters were open):
   staff change at the full hour, so the calls of the clock hour the interval's middle
   falls in (each interval's calls counted by its overlap with that hour, the rate scaled
   up where the hour runs past the day's first or last row) divided by
   ``per_counter_calls_per_hour``, rounded up; at least 1 when the interval has calls, 0
   when the hour has none. (benchmarks/replay.py plans them from past weeks instead.)
5. The fit: a single FIFO queue starts with ``initial_waiting`` at the opening and plays
   the placed events (at equal times an arrival first); a call finding nobody waiting is
   dropped and counted (``dropped_calls``). ``waiting_fit_mae`` is the mean |queue -
   recorded waiting| over the rows used (the first row included). Each dropped call
   leaves the derived queue one person above the record for the rest of the day, so the
   fit measures how much the uniform placement (a call drawn before the arrival it would
   serve in an interval that starts empty) costs a replay; at the rows themselves the
   counts otherwise match by construction.

Limits: the waiting count is all queues together and the numbers are the last one called
on one display, so calls of series shown rarely are seen late or not at all (rule 2
catches those only when the waiting count drops); people who gave up count as calls;
times inside an interval are not known (uniform); the counters are an assumption.
"""

from __future__ import annotations

import argparse
import csv
import math
import random
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")
MAX_STEP = 40  # the largest forward advance (mod 1000) that continues a series
WRAP = 1000  # numbers wrap within their thousand
BIG_GAP = timedelta(minutes=60)  # longer intervals invent no calls
GAP = timedelta(minutes=10)  # intervals this long or longer (a row missing) are noted
STALE_AFTER = timedelta(minutes=20)  # a row this long past the display's last update
#: Staffing changes at the full hour: the counters at work are those of the interval's hour.
STAFFING = timedelta(hours=1)

COL_AT = "Datum und Uhrzeit"
COL_WAITING = "Anzahl wartender Personen"
COL_PUBLISHED = "durchschnittliche Wartezeit in Minuten"
COL_NUMBER = "nächste Nummer"
COL_UPDATED = "letzte Aktualisierung"


@dataclass(frozen=True)
class Row:
    at: datetime  # local time, tz-aware Europe/Berlin
    waiting: int  # people waiting
    published_min: int | None  # the city's published average wait (minutes)
    number: int | None  # number called last (None when empty)
    updated: datetime | None = None  # when the display last changed (None: not known)


@dataclass(frozen=True)
class Series:
    first: int  # number seen first
    last: int  # number seen last
    calls: int  # calls attributed to the day's intervals


@dataclass(frozen=True)
class Interval:
    start: datetime
    end: datetime
    recorded_waiting: int  # the record at `end`
    calls: int  # people called in (start, end]
    arrivals: int  # people arriving in (start, end]
    counters: int  # counters taken to be at work (>= 1 when calls > 0)
    published_min: int | None
    #: The counters the hour's own calls give, where ``counters`` were planned otherwise.
    hour_counters: int | None = None


@dataclass(frozen=True)
class DerivedDay:
    day: date
    opening: datetime  # first row's time
    initial_waiting: int  # already waiting at the first row (arrive just before it)
    intervals: list[Interval]
    arrivals: list[datetime]  # every arrival time, sorted
    calls: list[datetime]  # every call time, sorted
    series: list[Series]
    waiting_fit_mae: float
    dropped_calls: int
    notes: list[str]


def _int_or_none(text: str) -> int | None:
    text = text.strip()
    return int(text) if text else None


def _updated(at: datetime, text: str) -> datetime | None:
    """The display's "last update" (HH:MM) as a time at or before `at` (the day before
    when the clock reads later than the row)."""
    try:
        hh, mm = text.strip().split(":")
        stamp = at.replace(hour=int(hh), minute=int(mm), second=0, microsecond=0)
    except ValueError:
        return None
    if stamp > at:
        stamp -= timedelta(days=1)
    return stamp


def read_day(path: Path) -> list[Row]:
    """The rows of one day's CSV, sorted by time; malformed rows are skipped."""
    rows: list[Row] = []
    with path.open(encoding="utf-8", newline="") as f:
        for rec in csv.DictReader(f):
            try:
                naive = datetime.strptime((rec.get(COL_AT) or "").strip(), "%Y-%m-%d %H:%M")
                at = naive.replace(tzinfo=BERLIN)
                waiting = int((rec.get(COL_WAITING) or "").strip())
                published = _int_or_none(rec.get(COL_PUBLISHED) or "")
                number = _int_or_none(rec.get(COL_NUMBER) or "")
            except (ValueError, TypeError):
                continue
            if waiting < 0 or (number is not None and number < 0):
                continue
            rows.append(
                Row(at, waiting, published, number, _updated(at, rec.get(COL_UPDATED) or ""))
            )
    rows.sort(key=lambda r: r.at)
    return rows


def _hhmm(t: datetime) -> str:
    return t.strftime("%H:%M")


@dataclass
class _Track:
    first: int
    last: int
    last_row: int  # index of the row it was last seen at
    calls: int


def _spread(d: int, weights: list[float]) -> list[int]:
    """d split over the weights in proportion, by cumulative rounding (sums to d)."""
    total = sum(weights)
    if total <= 0:
        out = [0] * len(weights)
        out[-1] = d
        return out
    out, cum, prev = [], 0.0, 0
    for w in weights:
        cum += w
        upto = math.floor(d * cum / total + 0.5)
        out.append(upto - prev)
        prev = upto
    return out


def _after_someone_came(
    waiting: int, arrivals: list[datetime], calls: list[datetime]
) -> list[datetime]:
    """An interval's call times, each one that was drawn before anyone was there to call
    moved to the next arrival (which comes first at equal times): nobody is called from
    an empty queue, and the queue keeps following the record."""
    moved: list[datetime] = []
    came = 0
    for at in calls:
        while came < len(arrivals) and arrivals[came] <= at:
            waiting, came = waiting + 1, came + 1
        if waiting == 0 and came < len(arrivals):
            at = arrivals[came]
            waiting, came = waiting + 1, came + 1
        waiting -= 1
        moved.append(at)
    return moved


def _stale_stretches(rows: list[Row], stale: list[bool]) -> list[str]:
    notes, i = [], 0
    while i < len(rows):
        if not stale[i]:
            i += 1
            continue
        j = i
        while j + 1 < len(rows) and stale[j + 1]:
            j += 1
        upd = rows[i].updated
        since = f", last update {_hhmm(upd)}" if upd is not None else ""
        notes.append(
            f"display stood still {_hhmm(rows[i].at)}-{_hhmm(rows[j].at)} ({j - i + 1} rows{since})"
        )
        i = j + 1
    return notes


def derive(
    rows: list[Row], *, seed: int = 0, per_counter_calls_per_hour: float = 6.0
) -> DerivedDay:
    """Arrivals, calls and counters of one day, following the record (module docstring)."""
    if not rows:
        raise ValueError("no rows")
    notes: list[str] = []
    rows = sorted(rows, key=lambda r: r.at)
    unique: list[Row] = []
    for r in rows:
        if unique and unique[-1].at == r.at:
            unique[-1] = r
        else:
            unique.append(r)
    if len(unique) < len(rows):
        notes.append(f"{len(rows) - len(unique)} rows with a repeated time (the last kept)")
    rows = unique
    n = len(rows)
    if n == 1:
        notes.append("a single row")
    stale = [r.updated is not None and r.at - r.updated > STALE_AFTER for r in rows]
    notes += _stale_stretches(rows, stale)

    lengths = [(rows[k].at - rows[k - 1].at).total_seconds() for k in range(1, n)]
    big = [rows[k].at - rows[k - 1].at > BIG_GAP for k in range(1, n)]
    for k in range(1, n):
        length = rows[k].at - rows[k - 1].at
        if length > BIG_GAP:
            notes.append(
                f"gap {_hhmm(rows[k - 1].at)}-{_hhmm(rows[k].at)} "
                f"({int(length.total_seconds() // 60)} min): no calls invented across it"
            )
        elif length >= GAP:
            notes.append(
                f"gap {_hhmm(rows[k - 1].at)}-{_hhmm(rows[k].at)} "
                f"({int(length.total_seconds() // 60)} min)"
            )

    # 1. number series; calls[k - 1] are the calls of the interval ending at row k
    calls = [0] * (n - 1)
    tracks: list[_Track] = []
    dropped_advance = 0
    for k, r in enumerate(rows):
        if r.number is None or stale[k]:
            continue
        num = r.number
        best: _Track | None = None
        best_key: tuple[int, int] | None = None
        for t in tracks:
            if t.last // WRAP != num // WRAP:
                continue
            step = (num - t.last) % WRAP
            if step <= MAX_STEP:
                key = (step, -t.last_row)
                if best_key is None or key < best_key:
                    best, best_key = t, key
        if best is None:
            counted = 1 if k > 0 else 0
            if k > 0:
                calls[k - 1] += 1
            tracks.append(_Track(num, num, k, counted))
            continue
        step = (num - best.last) % WRAP
        if step > 0:
            span = range(best.last_row, k)  # intervals ending at rows last_row+1..k
            if any(big[i] for i in span):
                dropped_advance += step
            else:
                for i, part in zip(span, _spread(step, [lengths[i] for i in span]), strict=True):
                    calls[i] += part
                best.calls += step
        best.last = num
        best.last_row = k
    if dropped_advance:
        notes.append(f"{dropped_advance} calls of number advances across a long gap not counted")

    # 2. arrivals so that the waiting count follows the record
    arrivals = [0] * (n - 1)
    raised = 0
    for i in range(n - 1):
        diff = rows[i + 1].waiting - rows[i].waiting
        if big[i]:
            calls[i] = max(0, -diff)
        a = diff + calls[i]
        if a < 0:
            raised += -a
            calls[i] -= a
            a = 0
        arrivals[i] = a

    # 4. counters from the call rate of the interval's hour (staff change at the full hour)
    per_window = per_counter_calls_per_hour * (STAFFING.total_seconds() / 3600)
    day_start, day_end = rows[0].at, rows[-1].at
    counters = [0] * (n - 1)
    for i in range(n - 1):
        mid = rows[i].at + (rows[i + 1].at - rows[i].at) / 2
        lo = mid.replace(minute=0, second=0, microsecond=0)
        hi = lo + STAFFING
        covered = (min(hi, day_end) - max(lo, day_start)).total_seconds()
        total = 0.0
        j = i
        while j > 0 and rows[j].at > lo:
            j -= 1
        while j < n - 1 and rows[j].at < hi:
            s, e = rows[j].at, rows[j + 1].at
            overlap = (min(e, hi) - max(s, lo)).total_seconds()
            if overlap > 0 and calls[j]:
                total += calls[j] * overlap / (e - s).total_seconds()
            j += 1
        if total > 0 and covered > 0:
            scaled = total * STAFFING.total_seconds() / covered
            counters[i] = max(1, math.ceil(scaled / per_window - 1e-9))
        if calls[i] > 0:
            counters[i] = max(1, counters[i])

    # 3. placement
    day = rows[0].at.date()
    rng = random.Random(seed + day.toordinal())
    arrival_times: list[datetime] = []
    call_times: list[datetime] = []
    for i in range(n - 1):
        start = rows[i].at
        span_s = lengths[i]
        drawn: tuple[list[datetime], list[datetime]] = ([], [])
        for count, out in ((arrivals[i], drawn[0]), (calls[i], drawn[1])):
            for _ in range(count):
                out.append(start + timedelta(seconds=(1.0 - rng.random()) * span_s))
        arrival_times += drawn[0]
        call_times += _after_someone_came(rows[i].waiting, sorted(drawn[0]), sorted(drawn[1]))
    arrival_times.sort()
    call_times.sort()

    # 5. the fit: a single FIFO queue sampled at the rows
    queue = rows[0].waiting
    dropped = 0
    errors = [0]
    ai = ci = 0
    for k in range(1, n):
        at = rows[k].at
        while True:
            next_a = arrival_times[ai] if ai < len(arrival_times) else None
            next_c = call_times[ci] if ci < len(call_times) else None
            if next_a is not None and next_a <= at and (next_c is None or next_a <= next_c):
                queue += 1
                ai += 1
            elif next_c is not None and next_c <= at:
                if queue > 0:
                    queue -= 1
                else:
                    dropped += 1
                ci += 1
            else:
                break
        errors.append(abs(queue - rows[k].waiting))

    intervals = [
        Interval(
            start=rows[i].at,
            end=rows[i + 1].at,
            recorded_waiting=rows[i + 1].waiting,
            calls=calls[i],
            arrivals=arrivals[i],
            counters=counters[i],
            published_min=rows[i + 1].published_min,
        )
        for i in range(n - 1)
    ]
    return DerivedDay(
        day=day,
        opening=rows[0].at,
        initial_waiting=rows[0].waiting,
        intervals=intervals,
        arrivals=arrival_times,
        calls=call_times,
        series=[Series(t.first, t.last, t.calls) for t in tracks],
        waiting_fit_mae=statistics.fmean(errors),
        dropped_calls=dropped,
        notes=notes,
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="folder of one CSV per day")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--per-counter-calls-per-hour", type=float, default=6.0)
    ap.add_argument("--notes", action="store_true", help="print each day's notes too")
    args = ap.parse_args(argv)
    started = time.perf_counter()
    maes: list[float] = []
    total_arrivals = total_calls = total_dropped = with_notes = 0
    print("day         rows arrivals calls series  fit_mae dropped")
    for path in sorted(args.data.glob("*.csv")):
        rows = read_day(path)
        if not rows:
            print(f"{path.stem}  no readable rows")
            continue
        d = derive(rows, seed=args.seed, per_counter_calls_per_hour=args.per_counter_calls_per_hour)
        maes.append(d.waiting_fit_mae)
        total_arrivals += len(d.arrivals)
        total_calls += len(d.calls)
        total_dropped += d.dropped_calls
        with_notes += bool(d.notes)
        print(
            f"{d.day}  {len(rows):4d} {len(d.arrivals):8d} {len(d.calls):5d} "
            f"{len(d.series):6d} {d.waiting_fit_mae:8.2f} {d.dropped_calls:7d}"
        )
        if args.notes:
            for note in d.notes:
                print(f"            {note}")
    if not maes:
        print("no days", file=sys.stderr)
        return 1
    print(
        f"summary: {len(maes)} days, waiting_fit_mae median {statistics.median(maes):.2f} "
        f"worst {max(maes):.2f}, arrivals {total_arrivals}, calls {total_calls}, "
        f"dropped calls {total_dropped}, days with notes {with_notes}, "
        f"{time.perf_counter() - started:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
