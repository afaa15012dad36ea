"""The Lua scripts, each atomic in Redis, and the one loader of them all (:func:`source`).

Eight families, one folder each: a location's (here: ``issue``, ``call_next``, ...), the
applications' (``applications/create``, ...), the rate limits' (``limits/gcra``), the
outbound jobs' (``jobs/claim``, ...), the webhooks' (``webhooks/lease``,
``webhooks/cursor``), the push subscriptions' (``push/save``, ...), the staff
directory's and sessions' (``staff/record``, ``staff/session_update``,
``staff/pseudonym``), and the audit's reader (``audit/read``). A script is its folder's
``lib.lua`` (the family's prelude, see its header for the calling convention and the
guarantees) followed by its own file; a script in :data:`STANDALONE` has no prelude.
Every script gets its keys in ``KEYS[]`` (or, for a key named by a value it reads in
Redis, a template of it), built in :mod:`waitboard.store.keys`. The transition table is
rendered from :data:`waitboard.core.domain.TRANSITIONS`, so Python and Lua enforce the
same rules.
"""

from __future__ import annotations

from collections import defaultdict
from functools import cache
from importlib import resources

from waitboard.core import estimate, pace
from waitboard.core.domain import TRANSITIONS

#: A location's scripts (prelude: ``lib.lua``).
COMMANDS = (
    "issue",
    "call_next",
    "ticket_action",
    "counter",
    "roll_day",
    "snapshot",
    "ticket",
    "waiting",
    "note_estimate",
    "stats",
    "occupancy",
    "book",
    "move_booking",
    "check_in",
    "booking",
    "slot_counts",
    "day_bookings",
)
#: The applications' scripts (prelude: ``applications/lib.lua``).
APPLICATION_COMMANDS = tuple(
    f"applications/{name}" for name in ("create", "stage", "pin", "schedule", "delete")
)
#: Scripts without a prelude.
STANDALONE = (
    "applications/sweep",
    "limits/gcra",
    "jobs/add",
    "jobs/claim",
    "jobs/finish",
    "jobs/later",
    "webhooks/lease",
    "webhooks/cursor",
    "push/save",
    "push/mark",
    "push/delete",
    "push/unlock",
    "staff/record",
    "staff/session_update",
    "staff/pseudonym",
    "audit/read",
    "service_levels/open",
)

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
#: The same for the hour-of-day service times, which average over days.
HOURLY_ALPHA = 0.1
#: The pace of a queue's calls is a count of them fading with this time constant
#: (core/pace.py reads it with the same one).
PACE_TAU_S = pace.PACE_TAU_S
#: Weight of the newest day in a queue's usual rate of calls per weekday and hour
#: (core/usual.py): about the last four same weekdays count.
USUAL_ALPHA = 0.3
#: An hour with fewer calls of a queue says nothing of its usual rate of calls.
USUAL_MIN_CALLS = 3
#: The same for the share of bookings that come on time, learned once a day.
SHOW_ALPHA = 0.3
#: Recent (estimate, actual) pairs behind the ranges, and how many before they are used.
#: 1,200 rather than 600: the long waits' band (estimates of 30 minutes and more) has few
#: pairs of its own, and on a real office's year (benchmarks/replay.py) the ranges held
#: 84 % of waits instead of 83 % (81 % instead of 79 % in jams). The cost: the call's
#: script sorts twice as many numbers when it works out the bands (``BAND_EVERY``).
CALIB_KEEP = 1200
BAND_MIN_PAIRS = 20
#: The bands are worked out again on every tenth pair, not on every call: a ticket's five
#: scripts took 6.0 ms in all with every call sorting the 1,200 pairs, 2.5 ms so (the
#: development machine, the embedded Redis); on a real office's year of tickets
#: (benchmarks/replay.py) the ranges held as many waits, to a tenth of a percent.
BAND_EVERY = 10
#: Estimate sizes with a band of their own: from 5, 15 and 30 minutes (and below 5).
BAND_BUCKETS_S = estimate.BAND_BUCKETS_S
#: The range covers the 7th to 93rd percentile of recent errors (as ratios): a little
#: more than 10-90, because the errors to come are wider than the ones just seen (the day
#: drifts, counters close), and the range is meant to hold for four people out of five.
BAND_LOW_Q = 0.07
BAND_HIGH_Q = 0.93
#: Errors are ratios ln((actual + s) / (estimate + s)) with this s (core/estimate.py).
BAND_OFFSET_S = estimate.BAND_OFFSET_S


def _lua_transitions() -> str:
    table: dict[str, dict[str, str]] = defaultdict(dict)
    for (state, action), target in TRANSITIONS.items():
        table[state.value][action.value] = target.value
    rows = (
        f"{state} = {{" + ", ".join(f"{a} = '{t}'" for a, t in sorted(actions.items())) + "}"
        for state, actions in sorted(table.items())
    )
    return "{" + ", ".join(rows) + "}"


@cache
def source(name: str) -> str:
    """The full text of one script, its family's prelude included; read once per process."""
    if name not in COMMANDS and name not in APPLICATION_COMMANDS and name not in STANDALONE:
        raise KeyError(name)
    folder, _, file = name.rpartition("/")
    files = resources.files(__name__)
    if folder:
        files = files / folder
    body = (files / f"{file}.lua").read_text(encoding="utf-8")
    if name in STANDALONE:
        return body
    prelude = (files / "lib.lua").read_text(encoding="utf-8")
    for key, value in _values().items():
        prelude = prelude.replace("{{" + key + "}}", value)
    return prelude + "\n" + body


def _values() -> dict[str, str]:
    """What a prelude's ``{{NAME}}`` stands for: the constants above, the same in Python and
    Lua."""
    return {
        "TRANSITIONS": _lua_transitions(),
        "EVENTS_MAXLEN": str(EVENTS_MAXLEN),
        "CALLS_KEEP": str(CALLS_KEEP),
        "IDEM_TTL_S": str(IDEMPOTENCY_TTL_S),
        "CLOSED_TICKET_TTL_S": str(CLOSED_TICKET_TTL_S),
        "STATS_TTL_S": str(STATS_TTL_S),
        "LEARN_ALPHA": str(LEARN_ALPHA),
        "HOURLY_ALPHA": str(HOURLY_ALPHA),
        "PACE_TAU_S": str(PACE_TAU_S),
        "USUAL_ALPHA": str(USUAL_ALPHA),
        "USUAL_MIN_CALLS": str(USUAL_MIN_CALLS),
        "SHOW_ALPHA": str(SHOW_ALPHA),
        "CALIB_KEEP": str(CALIB_KEEP),
        "BAND_MIN_PAIRS": str(BAND_MIN_PAIRS),
        "BAND_EVERY": str(BAND_EVERY),
        "BAND_LOW_Q": str(BAND_LOW_Q),
        "BAND_HIGH_Q": str(BAND_HIGH_Q),
        "BAND_OFFSET_S": str(BAND_OFFSET_S),
        "BAND_BUCKETS_S": "{" + ", ".join(str(b) for b in BAND_BUCKETS_S) + "}",
    }
