"""The replay's results in docs/estimates.md (between its "real days" marks) and the plot
of a jam day (docs/replay-jam.png). Used by ``benchmarks/replay.py --out docs``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from benchmarks.replay import Run, Told

from benchmarks.replay import (
    HINDSIGHT,
    JAM_AHEAD,
    MARK_BEGIN,
    MARK_END,
    METHODS,
    WIDE_RANGE_S,
    comparable,
    summary_line,
)

PLOT = "replay-jam.png"
#: How a day's events are derived from the record (kept beside the code that does it).
METHOD = Path(__file__).with_name("replay_method.md")
#: What the figures say, written by hand after a run (they are deterministic but for the
#: seconds: the same data and seed give the same figures).
READING = Path(__file__).with_name("replay_reading.md")


def keep_real_days(old: str, new_simulated: str) -> str:
    """estimates.py rewrites the simulated part; the real days' part stays as it was."""
    if MARK_BEGIN in old and MARK_END in old:
        block = old[old.index(MARK_BEGIN) : old.index(MARK_END) + len(MARK_END)]
        return new_simulated.rstrip("\n") + "\n\n" + block + "\n"
    return new_simulated


def _table(title: str, rows: dict[str, dict[str, Any]]) -> list[str]:
    head = (
        "| " + title + " | tickets | mean wait | MAE waitboard | fixed rule | last 30 | "
        "published | waitboard / best | bias waitboard | fixed | last 30 | published | "
        "p90 error waitboard | in range | hour known |"
    )
    lines = [head, "|" + "---|" * 15]
    for key, r in rows.items():
        mae, bias = r["mae_min"], r["bias_min"]
        best = min(mae[m] for m in METHODS[1:])
        lines.append(
            f"| {key} | {r['tickets']} | {r['mean_wait_min']:.1f} | {mae['waitboard']:.1f} | "
            f"{mae['fixed rule']:.1f} | {mae['last 30']:.1f} | {mae['published']:.1f} | "
            f"{mae['waitboard'] / best:.2f} | {bias['waitboard']:+.1f} | "
            f"{bias['fixed rule']:+.1f} | {bias['last 30']:+.1f} | {bias['published']:+.1f} | "
            f"{r['p90_abs_error_min']['waitboard']:.1f} | {100 * r['in_range']:.0f} % | "
            f"{mae.get(HINDSIGHT, float('nan')):.1f} |"
        )
    return lines


def markdown(run: Run, figures: dict[str, Any]) -> str:
    g = figures["groups"]
    overall = g["all"]["all"]
    lines = [
        MARK_BEGIN,
        "",
        "## Real days: the Münster Bürgerbüro's year replayed",
        "",
        f"`benchmarks/replay.py --data ../shared/data/muenster-buergerbuero --out docs` "
        f"replayed {figures['days']} days ({figures['seconds']:.0f} s on the development "
        "machine) through the real store on a simulated clock; the derivation of each day's "
        "arrivals, calls and counters is described below. Configured minutes for the fixed "
        f"rule, set from the first month: {figures['configured_minutes']:.1f}. Derived calls "
        f"that found nobody waiting: {figures['dropped_calls']}. Median gap between the "
        "replay's waiting count and the record, per day: "
        f"{figures['waiting_fit_mae_median']} people.",
        "",
        "```",
        summary_line(run),
        "```",
        "",
        "Minutes; MAE = mean absolute error; bias = mean (estimate - actual wait), negative "
        "= promised too little; in range = the real wait inside the range the ticket was "
        f"given (median width {overall['median_range_width_min']:.0f} min). Every ticket "
        "below had a number from all four methods; a jam: at least "
        f"{JAM_AHEAD} people ahead at issue. *hour known* is no baseline but a reference "
        "no office has: the fixed rule told the counters the hour's own calls give "
        "(hindsight), a measure of how much the counters at work, known, would explain.",
        "",
        _doubt(figures["doubt"]),
        "",
        *_table("who", g["all"]),
        *_table("jam", g["jam"])[2:],
        "",
        "By the wait that followed:",
        "",
        *_table("actual wait", g["actual wait"]),
        "",
        "By month:",
        "",
        *_table("month", g["month"]),
        "",
        "By hour of issue:",
        "",
        *_table("hour", g["hour"]),
        "",
        f"![A jam day: waits and estimates]({PLOT})",
        "",
        READING.read_text(encoding="utf-8").rstrip("\n"),
        "",
        METHOD.read_text(encoding="utf-8").rstrip("\n"),
        "",
        MARK_END,
    ]
    return "\n".join(lines) + "\n"


def _doubt(d: dict[str, Any]) -> str:
    """The sentence on how often waitboard said it did not know."""
    called = d["called"] or 1
    held = (
        ""
        if d["wide_in_range"] is None
        else f", and {100 * d['wide_in_range']:.0f} % of those held"
    )
    return (
        f"When it did not know: of {d['called']} tickets called, waitboard told "
        f'{d["unknown"]} ({100 * d["unknown"] / called:.1f} %) "unbekannt" and gave '
        f"{d['wide']} ({100 * d['wide'] / called:.1f} %) a range at least "
        f"{WIDE_RANGE_S // 60} minutes wide{held}. {d['called'] - d['compared']} tickets "
        "lacked a number from some method (mostly the published figure before the "
        "display's first row) and are left out of the tables."
    )


def jam_day(told: list[Told]) -> list[Told]:
    """The day with the most tickets issued in a jam."""
    by_day: dict[Any, list[Told]] = {}
    for t in told:
        by_day.setdefault(t.day, []).append(t)
    return max(by_day.values(), key=lambda ts: sum(1 for t in ts if t.ahead >= JAM_AHEAD))


def plot(told: list[Told], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    day = sorted(jam_day(told), key=lambda t: t.issued)
    hours = [t.issued.hour + t.issued.minute / 60 for t in day]
    fig, ax = plt.subplots(figsize=(10, 4.2), dpi=110)
    ax.fill_between(
        hours,
        [t.range_s[0] / 60 if t.range_s else 0 for t in day],
        [t.range_s[1] / 60 if t.range_s else 0 for t in day],
        color="#0b4f8a",
        alpha=0.15,
        step="mid",
        label="waitboard range",
    )
    ax.plot(hours, [(t.wait_s or 0) / 60 for t in day], "o", ms=3.5, color="#111", label="wait")
    styles = {
        "waitboard": ("-", "#0b4f8a"),
        "fixed rule": ("--", "#a4161a"),
        "last 30": (":", "#7a5c00"),
        "published": ("-.", "#2d6a4f"),
    }
    for m, (style, color) in styles.items():
        ax.plot(
            hours, [(t.estimates[m] or 0) / 60 for t in day], style, lw=1.3, color=color, label=m
        )
    ax.set_title(f"Münster Bürgerbüro, {day[0].day.isoformat()}: waits and what was told")
    ax.set_xlabel("time of issue (h)")
    ax.set_ylabel("wait (min)")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_docs(run: Run, figures: dict[str, Any], out: Path) -> None:
    doc = out / "estimates.md"
    old = doc.read_text(encoding="utf-8") if doc.exists() else ""
    part = markdown(run, figures)
    if MARK_BEGIN in old and MARK_END in old:
        text = (
            old[: old.index(MARK_BEGIN)]
            + part.rstrip("\n")
            + old[old.index(MARK_END) + len(MARK_END) :]
        )
    else:
        text = old.rstrip("\n") + "\n\n" + part
    doc.write_text(text, encoding="utf-8")
    told = comparable(run.told)
    if told:
        plot(told, out / PLOT)
