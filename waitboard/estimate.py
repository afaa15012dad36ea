"""How long until a ticket is called, without I/O.

The spine's estimate is the configured rule: every open counter that serves the queue
takes one person per ``service_minutes``; counters that are open and free take the first
people in line at once. It says "unknown" (None) rather than guess when no counter serving
the queue is open. Learning from observed service times comes later.
"""

from __future__ import annotations

import math


def wait_seconds(position: int, service_s: float, open_counters: int,
                 free_counters: int = 0) -> int | None:
    """Expected seconds until the ticket at ``position`` (1 = next) is called."""
    if position < 1:
        raise ValueError(f"position starts at 1, got {position}")
    if open_counters <= 0:
        return None
    ahead = position - min(free_counters, open_counters)
    if ahead <= 0:
        return 0
    # Everyone ahead is shared among the open counters; round to whole services per counter.
    return int(math.ceil(ahead / open_counters) * service_s)
