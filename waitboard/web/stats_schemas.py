"""The shapes of a location's day in figures (the statistics endpoint)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Open(BaseModel):
    # Answers may gain fields (CONTRACT.md: add freely); clients must ignore unknown ones.
    model_config = ConfigDict(extra="allow")


class CounterTime(_Open):
    """A counter's day by state, in seconds: serving (a ticket called or served there),
    idle (open, nobody at it), paused by reason, closed."""

    counter: str
    name: str
    serving_s: float
    idle_s: float
    paused_break_s: float
    paused_paperwork_s: float
    paused_meeting_s: float
    paused_other_s: float
    closed_s: float


class QueueDay(_Open):
    id: str = "*"
    issued: int
    called: int
    served: int
    no_show: int
    cancelled: int
    transferred_out: int
    wait_mean_s: float | None
    wait_p90_s: float | None
    service_mean_s: float | None
    no_show_rate: float | None


class HourArrivals(_Open):
    hour: str = Field(examples=["08"])
    arrivals: int


class DayStats(_Open):
    """A location's day: per queue, all queues together, and arrivals per hour."""

    location: str
    date: str
    queues: list[QueueDay]
    totals: QueueDay
    arrivals_per_hour: list[HourArrivals]
    counter_time: list[CounterTime] = Field(
        default_factory=list,
        description="Per counter, the day's seconds in each state (a counter ever used "
        "that day); closed time counts from its first change of the day.",
    )
