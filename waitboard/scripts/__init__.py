"""The Lua scripts: one per command, each atomic in Redis.

Each script is ``lib.lua`` (the shared prelude, see its header for the calling convention
and the guarantees) followed by the command's own file. The transition table is rendered
from :data:`waitboard.domain.TRANSITIONS`, so Python and Lua enforce the same rules.
"""

from __future__ import annotations

from collections import defaultdict
from importlib import resources

from waitboard.domain import TRANSITIONS

COMMANDS = ("issue", "call_next", "ticket_action", "counter", "roll_day", "snapshot", "ticket",
            "waiting", "note_estimate", "stats")

#: Events kept per location: two busy days of a large office (~10k a day); older ones are
#: trimmed. Figures that must outlive them are aggregated separately.
EVENTS_MAXLEN = 20_000
#: Calls kept for the screens (newest first).
CALLS_KEEP = 10
IDEMPOTENCY_TTL_S = 24 * 3600
#: How long a closed ticket stays readable on the citizen's phone.
CLOSED_TICKET_TTL_S = 2 * 24 * 3600
#: Daily statistics are kept this long (beyond the event stream's cap).
STATS_TTL_S = 400 * 24 * 3600
#: Weight of the newest observation in the recent-weighted service times and arrival gaps.
LEARN_ALPHA = 0.15
#: Recent (estimate, actual) pairs behind the ranges, and how many before they are used.
CALIB_KEEP = 300
BAND_MIN_PAIRS = 20
#: The range covers the 10th to 90th percentile of recent actual/estimate ratios.
BAND_LOW_Q = 0.10
BAND_HIGH_Q = 0.90
#: Added to both before the ratio, so a 1-minute estimate that became 3 is not "3x off".
BAND_SMOOTH_S = 120


def _lua_transitions() -> str:
    table: dict[str, dict[str, str]] = defaultdict(dict)
    for (state, action), target in TRANSITIONS.items():
        table[state.value][action.value] = target.value
    rows = (
        f"{state} = {{" + ", ".join(f"{a} = '{t}'" for a, t in sorted(actions.items())) + "}"
        for state, actions in sorted(table.items())
    )
    return "{" + ", ".join(rows) + "}"


def source(name: str) -> str:
    """The full text of one script, prelude included."""
    if name not in COMMANDS:
        raise KeyError(name)
    files = resources.files(__name__)
    prelude = (files / "lib.lua").read_text(encoding="utf-8")
    values = {
        "TRANSITIONS": _lua_transitions(),
        "EVENTS_MAXLEN": str(EVENTS_MAXLEN),
        "CALLS_KEEP": str(CALLS_KEEP),
        "IDEM_TTL_S": str(IDEMPOTENCY_TTL_S),
        "CLOSED_TICKET_TTL_S": str(CLOSED_TICKET_TTL_S),
        "STATS_TTL_S": str(STATS_TTL_S),
        "LEARN_ALPHA": str(LEARN_ALPHA),
        "CALIB_KEEP": str(CALIB_KEEP),
        "BAND_MIN_PAIRS": str(BAND_MIN_PAIRS),
        "BAND_LOW_Q": str(BAND_LOW_Q),
        "BAND_HIGH_Q": str(BAND_HIGH_Q),
        "BAND_SMOOTH_S": str(BAND_SMOOTH_S),
    }
    for key, value in values.items():
        prelude = prelude.replace("{{" + key + "}}", value)
    body = (files / f"{name}.lua").read_text(encoding="utf-8")
    return prelude + "\n" + body
