"""Service-level targets of the queues ("80 % called within 20 minutes") and where a queue
stands against its target now - without I/O.

A queue's target is :class:`ServiceLevel` (per queue, or the office's default for its
walk-in queues). From the waits of those waiting now, the forecast of when each of them and
the next arrival will be called, and today's waits of those already called, :func:`assess`
says one of three things, with the numbers that decide it:

* ``missed`` - someone has already waited longer than ``within_minutes``;
* ``at_risk`` - nobody has yet, but the forecast says someone in line, or the next person to
  come, will be called later than that;
* ``within`` - otherwise.

Beside it, today's share of people called within the time (what the ``share`` target is
about). An *episode* (:func:`step`) is the time from leaving ``within`` until the queue has
been back within it for ``calm_minutes``: one alert per episode, not one per look.

Alerts carry numbers only: no ticket number, no count of people - nothing about a person.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _email(value: str) -> str:
    if not _EMAIL.match(value) or len(value) > 200:
        raise ValueError(
            f"'{value[:60]}' is not an e-mail address such as leitung@jobcenter.example.de"
        )
    return value


Email = Annotated[str, AfterValidator(_email)]


class ServiceLevel(BaseModel):
    """``service_level = { share = 0.8, within_minutes = 20 }``: this share of the people
    of a queue is to be called within this many minutes of joining it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    share: float = Field(default=0.8, gt=0, le=1)
    within_minutes: int = Field(ge=1, le=480)

    @field_validator("share", mode="before")
    @classmethod
    def _a_fraction(cls, v: Any) -> Any:
        if isinstance(v, int | float) and 1 < v <= 100:
            raise ValueError(f"write the share as a fraction: {v / 100:g} for {v:g} %")
        return v

    @property
    def within_s(self) -> int:
        return self.within_minutes * 60

    def describe(self) -> str:
        """``80 % in 20 Min.`` (as the pages and the alert mail state it)."""
        return f"{percent(self.share)} % in {self.within_minutes} Min."


class Alerts(BaseModel):
    """``alerts = { email = ["leitung@..."], calm_minutes = 15 }``: who is told when a queue
    leaves its target, and how long it must be back within it before a new alert."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    email: list[Email] = Field(default_factory=list, max_length=20)
    calm_minutes: int = Field(default=15, ge=0, le=24 * 60)


class Standing(enum.StrEnum):
    WITHIN = "within"
    AT_RISK = "at_risk"
    MISSED = "missed"


@dataclass(frozen=True, slots=True)
class Assessment:
    """Where a queue stands against its target, and why."""

    target: ServiceLevel
    state: Standing
    longest_wait_s: int  # of those waiting now (0: nobody waits)
    forecast_s: int | None  # the longest total wait the forecast expects (None: no forecast)
    share_today: float | None  # of today's calls, the share within the time (None: no call)
    called_today: int

    @property
    def share_below_target(self) -> bool:
        return self.share_today is not None and self.share_today < self.target.share

    def why(self) -> str:
        """In a sentence (for logs and the alert mail), without any person in it."""
        minutes = self.target.within_minutes
        if self.state is Standing.MISSED:
            longest = minutes_text(self.longest_wait_s)
            return f"Die längste Wartezeit ({longest}) liegt über {minutes} Min."
        if self.state is Standing.AT_RISK:
            return f"Die Prognose ({minutes_text(self.forecast_s or 0)}) liegt über {minutes} Min."
        return f"Alle Wartenden werden voraussichtlich innerhalb von {minutes} Min. aufgerufen."


def percent(share: float) -> int:
    return math.floor(share * 100 + 0.5)


def minutes_text(seconds: int) -> str:
    return f"{seconds // 60} Min."


def assess(
    target: ServiceLevel,
    waited_s: Sequence[float],
    forecast_s: Sequence[float | None],
    waits_today_s: Sequence[float],
) -> Assessment:
    """``waited_s``: how long each person waiting has waited so far, in call order;
    ``forecast_s``: how long until each position is called (1 = next; one more than wait:
    the next to come); ``waits_today_s``: the waits of today's calls."""
    longest = max((max(0.0, w) for w in waited_s), default=0.0)
    totals = [
        max(0.0, waited) + ahead
        for waited, ahead in zip(waited_s, forecast_s, strict=False)
        if ahead is not None
    ]
    newcomer = forecast_s[len(waited_s)] if len(forecast_s) > len(waited_s) else None
    if newcomer is not None:
        totals.append(newcomer)
    forecast = max(totals) if totals else None
    if longest > target.within_s:
        state = Standing.MISSED
    elif forecast is not None and forecast > target.within_s:
        state = Standing.AT_RISK
    else:
        state = Standing.WITHIN
    within = sum(1 for w in waits_today_s if w <= target.within_s)
    return Assessment(
        target=target,
        state=state,
        longest_wait_s=int(longest),
        forecast_s=int(forecast) if forecast is not None else None,
        share_today=within / len(waits_today_s) if waits_today_s else None,
        called_today=len(waits_today_s),
    )


@dataclass(frozen=True, slots=True)
class Episode:
    """A queue's alerting as kept between looks: since when it is out of its target
    (``opened_ms``; None: no episode), and since when it is back within (``calm_ms``)."""

    opened_ms: int | None = None
    calm_ms: int | None = None


class Action(enum.StrEnum):
    OPEN = "open"  # a new episode: alert
    CALM = "calm"  # back within: the episode ends if it stays so
    STORM = "storm"  # out again before it ended: the same episode, no new alert
    CLOSE = "close"  # back within for long enough: the next leave alerts again
    NONE = "none"


def step(episode: Episode, state: Standing, now_ms: int, calm_ms: int) -> Action:
    """What a look at ``state`` does to the queue's episode."""
    if state is not Standing.WITHIN:
        if episode.opened_ms is None:
            return Action.OPEN
        return Action.STORM if episode.calm_ms is not None else Action.NONE
    if episode.opened_ms is None:
        return Action.NONE
    if episode.calm_ms is None:
        return Action.CALM if calm_ms > 0 else Action.CLOSE
    return Action.CLOSE if now_ms - episode.calm_ms >= calm_ms else Action.NONE


def alert_fields(queue: str, a: Assessment) -> dict[str, str]:
    """What an alert says (the webhook's allow-listed fields, as the stream keeps them)."""
    fields = {
        "queue": queue,
        "state": a.state.value,
        "longest_wait_s": str(a.longest_wait_s),
        "target_share": f"{a.target.share:g}",
        "target_within_minutes": str(a.target.within_minutes),
    }
    if a.forecast_s is not None:
        fields["forecast_s"] = str(a.forecast_s)
    if a.share_today is not None:
        fields["share_today"] = f"{a.share_today:.3f}"
    return fields
