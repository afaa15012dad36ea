"""Service-level targets without I/O: how a queue is judged against its target, when an
alert episode opens and ends, what an alert says, and how the office configures them."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

from tests.helpers import OFFICE_PATH
from waitboard.core.errors import ConfigError
from waitboard.core.office import parse_office
from waitboard.core.service_levels import (
    Action,
    Episode,
    ServiceLevel,
    Standing,
    alert_fields,
    assess,
    step,
)
from waitboard.core.webhooks import event_message
from waitboard.settings import DEMO_CONFIG, load_office

TARGET = ServiceLevel(share=0.8, within_minutes=20)
MIN = 60


# --- judging a queue -------------------------------------------------------------------------


def test_nobody_waiting_and_nobody_called_is_within_target() -> None:
    """An empty queue on a fresh day: within, no longest wait, no share yet."""
    a = assess(TARGET, [], [None], [])
    assert a.state is Standing.WITHIN
    assert (a.longest_wait_s, a.share_today, a.called_today) == (0, None, 0)


def test_someone_waiting_past_the_time_is_missed() -> None:
    """One person has waited 21 minutes of a 20-minute target: missed, whatever comes."""
    a = assess(TARGET, [21 * MIN, 2 * MIN], [60, 300, 600], [])
    assert a.state is Standing.MISSED
    assert a.longest_wait_s == 21 * MIN
    assert "21 Min." in a.why() and "20 Min." in a.why()


def test_a_forecast_past_the_time_is_at_risk() -> None:
    """Waited 12 minutes, called in 10 more (22 in all): at risk before anyone is late."""
    a = assess(TARGET, [12 * MIN], [10 * MIN, 12 * MIN], [])
    assert a.state is Standing.AT_RISK
    assert a.forecast_s == 22 * MIN
    assert "Prognose (22 Min.)" in a.why()


def test_the_next_arrivals_forecast_counts_too() -> None:
    """Nobody waits, but a newcomer would wait 25 minutes (every counter busy): at risk."""
    a = assess(TARGET, [], [25 * MIN], [])
    assert a.state is Standing.AT_RISK and a.forecast_s == 25 * MIN


def test_a_queue_on_track_is_within_and_counts_todays_share() -> None:
    """Forecasts inside the time; of five calls today four were within 20 minutes: 80 %."""
    a = assess(TARGET, [5 * MIN], [3 * MIN, 6 * MIN], [60, 300, 900, 1200, 1500])
    assert a.state is Standing.WITHIN
    assert a.share_today == pytest.approx(0.8) and a.called_today == 5
    assert not a.share_below_target


def test_a_share_below_target_is_said_even_while_within() -> None:
    """Two of four called late today: 50 %, below 80 %, although nobody waits now."""
    a = assess(TARGET, [], [60], [60, 60, 1500, 1800])
    assert a.state is Standing.WITHIN and a.share_below_target


def test_a_position_without_forecast_does_not_count() -> None:
    """No open counter (no forecast): only what has been waited decides."""
    a = assess(TARGET, [5 * MIN], [None, None], [])
    assert a.state is Standing.WITHIN and a.forecast_s is None


# --- episodes: one alert per leave --------------------------------------------------------


def test_leaving_the_target_opens_one_episode() -> None:
    """The first look out of target opens (alerts); the next looks out of target do nothing."""
    assert step(Episode(), Standing.AT_RISK, 0, 15 * MIN * 1000) is Action.OPEN
    open_ = Episode(opened_ms=0)
    assert step(open_, Standing.MISSED, 5_000, 15 * MIN * 1000) is Action.NONE
    assert step(open_, Standing.AT_RISK, 10_000, 15 * MIN * 1000) is Action.NONE


def test_an_episode_ends_only_after_the_calm_time() -> None:
    """Back within: calm begins; a flicker out again continues the same episode; only 15
    minutes within in a row end it, and the next leave alerts again."""
    calm = 15 * MIN * 1000
    assert step(Episode(opened_ms=0), Standing.WITHIN, 1000, calm) is Action.CALM
    calming = Episode(opened_ms=0, calm_ms=1000)
    assert step(calming, Standing.AT_RISK, 2000, calm) is Action.STORM
    assert step(calming, Standing.WITHIN, 1000 + calm - 1, calm) is Action.NONE
    assert step(calming, Standing.WITHIN, 1000 + calm, calm) is Action.CLOSE
    assert step(Episode(), Standing.WITHIN, 0, calm) is Action.NONE


def test_without_calm_time_an_episode_ends_at_once() -> None:
    """calm_minutes = 0: the first look within target ends the episode."""
    assert step(Episode(opened_ms=0), Standing.WITHIN, 1, 0) is Action.CLOSE


# --- what an alert says ----------------------------------------------------------------------


def test_an_alert_carries_numbers_only_and_the_webhook_passes_them() -> None:
    """The stream fields of an alert become the webhook's data - the allow-list, typed -
    with no ticket number or count of people."""
    a = assess(TARGET, [21 * MIN], [60, 600], [60, 1500])
    fields = {"type": "service_level", "seq": "7", "at": "1764921600000"}
    fields |= alert_fields("A", a)
    fields["number"] = "A001"  # (a field no alert has: left out all the same)
    message = event_message("sued", "1-0", fields, load_office(OFFICE_PATH).tz)
    assert message["type"] == "service_level"
    assert message["data"] == {
        "queue": "A",
        "state": "missed",
        "longest_wait_s": 21 * MIN,
        "forecast_s": 22 * MIN,
        "share_today": 0.5,
        "target_share": 0.8,
        "target_within_minutes": 20,
    }


# --- configuration ---------------------------------------------------------------------------


def raw_office(**top: Any) -> dict[str, Any]:
    raw = tomllib.loads(OFFICE_PATH.read_text(encoding="utf-8"))
    raw.update(top)
    return raw


def test_an_office_default_applies_to_walk_in_queues_and_a_queue_may_set_its_own() -> None:
    """service_level at office level for every walk-in queue; a queue's own wins."""
    raw = raw_office(service_level={"share": 0.9, "within_minutes": 15})
    raw["locations"][0]["queues"][1]["service_level"] = {"within_minutes": 30}
    office = parse_office(raw, "office.toml")
    a, b = office.locations[0].queues[:2]
    assert office.target_of(a) == ServiceLevel(share=0.9, within_minutes=15)
    assert office.target_of(b) == ServiceLevel(share=0.8, within_minutes=30)


def test_without_targets_no_queue_has_one() -> None:
    """Service levels are optional: the test office configures none."""
    office = parse_office(raw_office(), "office.toml")
    assert all(office.target_of(q) is None for loc in office.locations for q in loc.queues)


@pytest.mark.parametrize(
    ("top", "queue", "expected"),
    [
        (
            {"service_level": {"share": 80, "within_minutes": 20}},
            None,
            "service_level.share: write the share as a fraction: 0.8 for 80 %",
        ),
        (
            {},
            {"within_minutes": 0},
            "location sued, queue A: service_level.within_minutes: Input should be greater "
            "than or equal to 1",
        ),
        ({}, {"share": 0.8}, "location sued, queue A: service_level.within_minutes: required"),
        (
            {},
            {"within_minutes": 20, "percent": 80},
            "location sued, queue A: service_level.percent: unknown field",
        ),
        (
            {"alerts": {"email": ["leitung"]}},
            None,
            "alerts.email.0: 'leitung' is not an e-mail address such as leitung@",
        ),
    ],
)
def test_a_wrong_target_or_alert_is_named_with_where_and_why(
    top: dict[str, Any], queue: dict[str, Any] | None, expected: str
) -> None:
    """A share of 80 (not 0.8), a zero time, a missing time, an unknown field, an address
    without a domain: each refused with the place and the reason."""
    raw = raw_office(**top)
    if queue is not None:
        raw["locations"][0]["queues"][0]["service_level"] = queue
    with pytest.raises(ConfigError) as e:
        parse_office(raw, "office.toml")
    assert any(expected in line for line in e.value.errors), e.value.errors


def test_the_demo_office_has_targets() -> None:
    """The demo shows the feature: 20 minutes for every walk-in queue, 30 for placement."""
    office = load_office(DEMO_CONFIG)
    mitte = office.location_by_id["mitte"]
    assert office.target_of(mitte.queue_by_id["A"]) == ServiceLevel(within_minutes=20)
    assert office.target_of(mitte.queue_by_id["C"]) == ServiceLevel(within_minutes=30)
    assert office.target_of(mitte.queue_by_id["T"]) is None
