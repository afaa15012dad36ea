"""A location's day in figures, without I/O: from the counters and waits the Lua scripts
keep (for 400 days, beyond the event stream) to the shape of the stats endpoint."""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from waitboard.core.office import Location
from waitboard.core.pauses import PauseReason

Json = dict[str, Any]
FIELDS = ("issued", "called", "served", "no_show", "cancelled", "transferred_out")


def p90(values: Sequence[float]) -> float | None:
    """The nearest-rank 90th percentile (the wait nine people in ten did not exceed)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def _rates(totals: Json, waits: Sequence[float], service_sum: float) -> Json:
    """The means and rates beside the counts, the same for one queue as for the day."""
    wait_p90 = p90(waits)
    return {
        "wait_mean_s": round(sum(waits) / len(waits), 1) if waits else None,
        "wait_p90_s": round(wait_p90, 1) if wait_p90 is not None else None,
        "service_mean_s": round(service_sum / totals["served"], 1) if totals["served"] else None,
        "no_show_rate": (
            round(totals["no_show"] / totals["called"], 3) if totals["called"] else None
        ),
    }


def _figures(counts: Mapping[str, float], waits: Sequence[float], queue: str) -> Json:
    """One queue's day."""
    out: Json = {f: int(counts.get(f"{f}:{queue}", 0)) for f in FIELDS}
    return {**out, **_rates(out, waits, counts.get(f"service_sum:{queue}", 0))}


def day(
    loc: Location, date: str, counts: Mapping[str, float], waits: Mapping[str, Sequence[float]]
) -> Json:
    """The stats endpoint's answer for a day: each queue, all of them, arrivals per hour."""
    queues = [
        {
            "id": q.id,
            "name": q.name,
            "name_en": q.name_en or q.name,
            **_figures(counts, waits.get(q.id, []), q.id),
        }
        for q in loc.queues
    ]
    every_wait = [w for q in loc.queues for w in waits.get(q.id, [])]
    totals: Json = {f: sum(q[f] for q in queues) for f in FIELDS}
    service_sum = sum(counts.get(f"service_sum:{q.id}", 0) for q in loc.queues)
    totals.update(_rates(totals, every_wait, service_sum))
    hours = sorted(
        (k.split(":", 1)[1], int(v)) for k, v in counts.items() if k.startswith("arrivals:")
    )
    return {
        "location": loc.id,
        "date": date,
        "queues": queues,
        "totals": totals,
        "arrivals_per_hour": [{"hour": h, "arrivals": n} for h, n in hours],
        "counter_time": counter_time(loc, counts),
    }


#: A counter's states in the day's figures ("ctime:<counter>:<state>"), as columns.
COUNTER_STATES = (
    "serving",
    "idle",
    *(f"paused:{r.value}" for r in PauseReason),
    "closed",
)


def counter_time(loc: Location, counts: Mapping[str, float]) -> list[Json]:
    """Per counter used that day (configured ones first), its seconds in each state."""
    used = {k.split(":")[1] for k in counts if k.startswith("ctime:")}
    ids = [c.id for c in loc.counters if c.id in used]
    ids += sorted(used - set(ids))
    return [
        {
            "counter": cid,
            "name": loc.counter_by_id[cid].name if cid in loc.counter_by_id else cid,
            **{
                f"{state.replace(':', '_')}_s": round(counts.get(f"ctime:{cid}:{state}", 0.0), 1)
                for state in COUNTER_STATES
            },
        }
        for cid in ids
    ]


def as_csv(stats: Json) -> str:
    """One row per queue and one for all, for a spreadsheet (semicolons, as German Excel
    expects; decimal points)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    columns = [
        "date",
        "queue",
        *FIELDS,
        "wait_mean_s",
        "wait_p90_s",
        "service_mean_s",
        "no_show_rate",
    ]
    writer.writerow(columns)
    for row in [*stats["queues"], {"id": "*", **stats["totals"]}]:
        writer.writerow(
            [stats["date"], row["id"], *("" if row[c] is None else row[c] for c in columns[2:])]
        )
    writer.writerow([])
    writer.writerow(["date", "hour", "arrivals"])
    for h in stats["arrivals_per_hour"]:
        writer.writerow([stats["date"], h["hour"], h["arrivals"]])
    if stats.get("counter_time"):
        states = [f"{s.replace(':', '_')}_s" for s in COUNTER_STATES]
        writer.writerow([])
        writer.writerow(["date", "counter", *states])
        for row in stats["counter_time"]:
            writer.writerow([stats["date"], row["counter"], *(row[s] for s in states)])
    return out.getvalue()


_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_day(value: str | None, today: date) -> str:
    """``YYYY-MM-DD`` (default: today); ValueError with a sentence otherwise."""
    if not value:
        return today.isoformat()
    if not _DAY.match(value):
        raise ValueError(f"'{value[:20]}' is not a day like 2026-11-25")
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise ValueError(f"'{value}' is not a day of the calendar") from None
