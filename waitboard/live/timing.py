"""The hub's clocks: how often it loads, beats, checks and gives up, in seconds."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class HubTiming:
    coalesce_s: float = 0.02  # the least time between two snapshots of one location (<= 50/s)
    heartbeat_s: float = 5.0  # the contract promises one at least every 10 s
    stale_after_s: float = 5.0  # a change not loaded after this long: the view is not current
    drift_check_s: float = 5.0  # compare every location's seq with Redis
    refresh_s: float = 30.0  # re-read everything (open/closed, waited times move on)
    roll_day_s: float = 60.0  # the business-day roll (a task of the lifespan's, not the hub's)
    audit_trim_s: float = 3600.0  # the audit's retention over every stream (the lifespan's)
    ping_s: float = 3.0  # pub/sub link liveness
    dead_after_s: float = 8.0  # no answer on the pub/sub link for this long: reconnect
    overview_coalesce_s: float = 0.5
    send_timeout_s: float = 5.0  # a client that cannot take a frame this long is dropped
