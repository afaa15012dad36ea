"""Time: one clock for the whole service, injectable for tests and simulations.

Redis holds times as integer milliseconds since the Unix epoch (UTC); people see them in
the office's time zone.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, tzinfo

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def from_ms(ms: int, tz: tzinfo) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz)


def iso(ms: int | None, tz: tzinfo) -> str | None:
    """Milliseconds -> ``2026-11-25T08:03:11+01:00`` (local, to the second)."""
    return None if ms is None else from_ms(ms, tz).isoformat(timespec="seconds")
