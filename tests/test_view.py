"""The hub's decisions (live/view.py), fed with events on a fake clock: no Redis, no sockets.

Each test tells the view what happened and checks what it answers - the loads, fan-outs
and offers a screen relies on.
"""

from __future__ import annotations

import itertools
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from waitboard.core.office import Office, parse_office
from waitboard.core.state import LocationState, QueueState
from waitboard.live.actions import (
    OVERVIEW_BEAT,
    STALE,
    Action,
    CheckSeqs,
    FanOut,
    Kind,
    Load,
    Message,
    Offer,
)
from waitboard.live.timing import HubTiming
from waitboard.live.view import View
from waitboard.metrics import Metrics

OFFICE_PATH = Path(__file__).resolve().parent / "office.toml"
TIMING = HubTiming(coalesce_s=0.1, stale_after_s=5.0, drift_check_s=5.0, refresh_s=30.0)
START = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)  # a Monday, 10:00 in Düsseldorf


class Screen:
    """A screen as the view sees it: something to offer messages to (by identity)."""

    def __init__(self, name: str = "screen") -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Screen({self.name})"


class Harness:
    """A view on a fake clock (monotonic and wall clock move together)."""

    def __init__(self, office: Office | None = None, timing: HubTiming = TIMING) -> None:
        self.now = 100.0
        self.wall = START
        self.metrics = Metrics()
        self.view: View[Screen] = View(
            office or load_test_office(),
            timing,
            clock=lambda: self.wall,
            metrics=self.metrics,
            monotonic=lambda: self.now,
            jitter=lambda: 0.5,  # the back-off without its randomness: exactly its base
        )

    def advance(self, seconds: float) -> list[Action[Screen]]:
        self.now += seconds
        self.wall += timedelta(seconds=seconds)
        return self.view.poll()

    def reloads(self, reason: str) -> float:
        value = self.metrics.registry.get_sample_value(
            "waitboard_hub_reloads_total", {"reason": reason}
        )
        return value or 0.0

    def up(self) -> list[Action[Screen]]:
        """Started and linked: every location loading."""
        actions = self.view.start()
        for location in self.view.views:
            actions += self.view.subscribed(location)
        return actions

    def settle(self, seq: int = 1, epoch: str = "e1", **waiting: int) -> None:
        """Linked, every location loaded at ``seq`` and sent, nothing pending, the
        coalescing windows over."""
        self.up()
        for location in self.view.views:
            self.load(location, seq, epoch, **waiting)
        self.advance(self.view.timing.coalesce_s)
        for location in self.view.views:
            if self.view.views[location].loading:
                self.load(location, seq, epoch, **waiting)
        self.advance(max(self.view.timing.coalesce_s, self.view.timing.overview_coalesce_s))
        assert all(self.view.settled(location) for location in self.view.views)

    def load(
        self, location: str, seq: int, epoch: str = "e1", **waiting: int
    ) -> list[Action[Screen]]:
        """A load's result, and the end of the fan-out it starts (if one starts)."""
        actions = self.view.loaded(location, state(seq, epoch, **waiting))
        for fan in fanouts(actions):
            actions += self.view.sent(fan.location)
        return actions


def load_test_office(hours: str = "00:00-24:00") -> Office:
    raw = tomllib.loads(OFFICE_PATH.read_text(encoding="utf-8"))
    for loc in raw["locations"]:
        loc["hours"] = dict.fromkeys(("mon", "tue", "wed", "thu", "fri", "sat", "sun"), hours)
    return parse_office(raw, source=str(OFFICE_PATH))


def state(seq: int, epoch: str = "e1", **waiting: int) -> LocationState:
    queues = {q: QueueState(waiting=n, head_queued_at=None) for q, n in waiting.items()}
    return LocationState(epoch=epoch, seq=seq, day=None, queues=queues, counters={}, calls=())


def bell(seq: int, epoch: str = "e1", ts: int = 0) -> bytes:
    return orjson.dumps({"epoch": epoch, "seq": seq, "ts": ts})


def loads(actions: list[Action[Screen]]) -> list[str]:
    return [a.location for a in actions if isinstance(a, Load)]


def fanouts(actions: list[Action[Screen]]) -> list[FanOut[Screen]]:
    return [a for a in actions if isinstance(a, FanOut)]


def offers(actions: list[Action[Screen]]) -> list[Offer[Screen]]:
    return [a for a in actions if isinstance(a, Offer)]


def payload(message: Message) -> Any:
    return orjson.loads(message.payload)


@pytest.fixture
def hub() -> Harness:
    return Harness()


# --- starting, linking, doorbells -----------------------------------------------------------


def test_start_loads_every_location(hub: Harness) -> None:
    """At start every location is loaded, before any screen asks."""
    assert sorted(loads(hub.view.start())) == ["nord", "sued"]


def test_a_subscription_reloads_a_location_loaded_before(hub: Harness) -> None:
    """A (re)subscription reloads: what was published while away is lost."""
    hub.settle()
    hub.view.join("sued", Screen())
    assert loads(hub.view.link_lost()) == []
    assert loads(hub.view.subscribed("sued")) == ["sued"]
    assert hub.view.listening


def test_a_doorbell_for_the_next_seq_loads_the_location(hub: Harness) -> None:
    """The doorbell of the next change loads the location, counted as a change."""
    hub.settle(seq=1)
    hub.view.join("sued", Screen())
    assert loads(hub.view.doorbell("sued", bell(2))) == ["sued"]
    hub.load("sued", 2)
    assert hub.reloads("change") == 1


def test_a_doorbell_after_a_gap_loads_the_location_as_a_gap(hub: Harness) -> None:
    """A doorbell that skips a seq (one was lost) loads, counted as a gap."""
    hub.settle(seq=1)
    hub.view.join("sued", Screen())
    assert loads(hub.view.doorbell("sued", bell(5))) == ["sued"]
    hub.load("sued", 5)
    assert hub.reloads("gap") == 1


def test_a_doorbell_of_a_new_epoch_loads_even_with_a_lower_seq(hub: Harness) -> None:
    """The location's data started over (a new epoch): seq 1 of it is news."""
    hub.settle(seq=7)
    hub.view.join("sued", Screen())
    assert loads(hub.view.doorbell("sued", bell(1, epoch="e2"))) == ["sued"]


def test_a_doorbell_for_a_seq_shown_does_nothing(hub: Harness) -> None:
    """A late doorbell for a change the screens already show loads nothing."""
    hub.settle(seq=7)
    hub.view.join("sued", Screen())
    assert hub.view.doorbell("sued", bell(7)) == []
    assert hub.view.doorbell("sued", bell(6)) == []


def test_a_doorbell_that_cannot_be_read_loads_to_be_sure(hub: Harness) -> None:
    """A garbled doorbell still means something changed: the location loads."""
    hub.settle()
    hub.view.join("sued", Screen())
    assert loads(hub.view.doorbell("sued", b"{not json")) == ["sued"]
    hub.load("sued", 2)
    assert hub.reloads("bad_doorbell") == 1


def test_a_doorbell_of_an_unknown_location_is_ignored(hub: Harness) -> None:
    """A channel message for a location this office does not have changes nothing."""
    hub.settle()
    assert hub.view.doorbell("atlantis", bell(2)) == []


# --- one load at a time, coalescing ---------------------------------------------------------


def test_one_load_at_a_time_per_location(hub: Harness) -> None:
    """Doorbells during a load start no second one; the next load follows the first."""
    hub.settle(seq=1)
    hub.view.join("sued", Screen())
    assert loads(hub.view.doorbell("sued", bell(2))) == ["sued"]
    assert loads(hub.view.doorbell("sued", bell(3))) == []
    assert loads(hub.view.doorbell("sued", bell(4))) == []
    hub.load("sued", 2)
    assert loads(hub.advance(TIMING.coalesce_s)) == ["sued"]


def test_changes_in_a_burst_coalesce_into_one_snapshot(hub: Harness) -> None:
    """Ten doorbells during one load end in two snapshots, not ten."""
    hub.settle(seq=1)
    screen = Screen()
    hub.view.join("sued", screen)
    actions = hub.view.doorbell("sued", bell(2))
    for seq in range(3, 12):
        actions += hub.view.doorbell("sued", bell(seq))
    actions += hub.load("sued", 2)
    actions += hub.advance(TIMING.coalesce_s)
    actions += hub.load("sued", 11)
    assert [payload(f.message)["seq"] for f in fanouts(actions)] == [2, 11]


def test_the_window_holds_the_next_load_and_says_until_when(hub: Harness) -> None:
    """Within coalesce_s of a fan-out's start the next load waits; next_wake names its time."""
    hub.settle(seq=1)
    hub.view.join("sued", Screen())
    hub.view.doorbell("sued", bell(2))
    hub.advance(0.02)
    fanned_out = hub.now
    hub.load("sued", 2)
    assert loads(hub.view.doorbell("sued", bell(3))) == []
    assert hub.view.next_wake() == pytest.approx(fanned_out + TIMING.coalesce_s)
    assert loads(hub.advance(0.09)) == []
    assert loads(hub.advance(0.02)) == ["sued"]


# --- the adaptive window (coalesce_s: the least time between two snapshots) ----------------

#: The window as these tests set it; a fan-out to the screens takes FAN_OUT_S.
WINDOW_S, FAN_OUT_S = 0.05, 0.08


def adaptive() -> Harness:
    hub = Harness(timing=HubTiming(coalesce_s=WINDOW_S))
    hub.settle(seq=1)
    hub.view.join("sued", Screen())
    return hub


def test_a_change_after_a_quiet_spell_goes_out_at_once() -> None:
    """Nothing being sent: a change is loaded at once and its snapshot sent when loaded."""
    hub = adaptive()
    hub.advance(1.0)
    assert loads(hub.view.doorbell("sued", bell(2))) == ["sued"]
    hub.advance(0.002)  # the load's time
    (fan,) = fanouts(hub.view.loaded("sued", state(2)))
    assert payload(fan.message)["seq"] == 2


def test_a_window_longer_than_the_load_does_not_hold_a_lone_change() -> None:
    """The window counts from the last fan-out, not from the load: a change that comes
    after it is not held back, however recent the last load."""
    hub = adaptive()
    hub.view.doorbell("sued", bell(2))
    hub.load("sued", 2)  # fanned out now, ended at once
    hub.advance(WINDOW_S)
    assert loads(hub.view.doorbell("sued", bell(3))) == ["sued"]


def test_a_change_during_a_fan_out_goes_out_as_soon_as_it_ends() -> None:
    """A fan-out longer than the window: the next snapshot follows its end without a wait."""
    hub = adaptive()
    hub.view.doorbell("sued", bell(2))
    assert len(fanouts(hub.view.loaded("sued", state(2)))) == 1  # under way for FAN_OUT_S
    hub.advance(0.01)
    assert loads(hub.view.doorbell("sued", bell(3))) == []  # within the window
    assert loads(hub.advance(WINDOW_S)) == ["sued"]  # the fan-out still under way
    assert fanouts(hub.view.loaded("sued", state(3))) == []  # waits for its end
    hub.advance(FAN_OUT_S - WINDOW_S - 0.01)
    (fan,) = fanouts(hub.view.sent("sued"))
    assert payload(fan.message)["seq"] == 3


def test_a_long_fan_out_spaces_the_next_one_out() -> None:
    """After a fan-out that took D, the next starts no sooner than 2 D after it began."""
    hub = adaptive()
    took = 0.04  # twice that is more than the window
    hub.view.doorbell("sued", bell(2))
    hub.view.loaded("sued", state(2))
    started = hub.now
    hub.advance(took)
    hub.view.sent("sued")
    assert loads(hub.view.doorbell("sued", bell(3))) == []
    assert hub.view.next_wake() == pytest.approx(started + 2 * took)
    assert loads(hub.advance(took - 0.001)) == []
    assert loads(hub.advance(0.002)) == ["sued"]


def test_a_starved_fan_out_does_not_space_snapshots_beyond_a_tenth_of_a_second() -> None:
    """However long the last fan-out took, a change waits at most 0.1 s after it began."""
    hub = adaptive()
    hub.view.doorbell("sued", bell(2))
    hub.view.loaded("sued", state(2))
    started = hub.now
    hub.advance(0.4)  # the machine lost its CPU meanwhile
    hub.view.sent("sued")
    assert loads(hub.view.doorbell("sued", bell(3))) == ["sued"]
    assert hub.now - started >= 0.1


def test_changes_during_a_fan_out_coalesce_into_the_next_snapshot() -> None:
    """Five changes that come during a fan-out go out together, in one snapshot."""
    hub = adaptive()
    hub.view.doorbell("sued", bell(2))
    hub.view.loaded("sued", state(2))  # its fan-out under way
    actions: list[Action[Screen]] = []
    for seq in range(3, 8):
        hub.advance(0.005)
        actions += hub.view.doorbell("sued", bell(seq))
    actions += hub.advance(WINDOW_S)
    assert loads(actions) == ["sued"]
    hub.view.loaded("sued", state(7))
    (fan,) = fanouts(hub.view.sent("sued"))
    assert payload(fan.message)["seq"] == 7


def test_snapshots_of_a_location_are_never_closer_than_the_window() -> None:
    """A change every millisecond for a second: snapshots at least coalesce_s apart."""
    hub = adaptive()
    sent_at: list[float] = []
    under_way: list[str] = []
    for seq in range(2, 1002):
        actions = hub.advance(0.001) + hub.view.doorbell("sued", bell(seq))
        if under_way:  # loads take no time here, fan-outs 3 ms
            actions += hub.view.loaded("sued", state(seq))
            under_way.clear()
        under_way += loads(actions)
        for fan in fanouts(actions):
            sent_at.append(hub.now)
            hub.now += 0.003
            actions += hub.view.sent(fan.location)
            under_way += loads(hub.view.poll())
    gaps = [b - a for a, b in itertools.pairwise(sent_at)]
    assert min(gaps) >= WINDOW_S - 1e-9
    assert 1.3 / WINDOW_S >= len(sent_at) >= 0.5 / WINDOW_S


def test_a_load_that_found_nothing_new_does_not_hold_the_next_change() -> None:
    """The window is about snapshots sent; a load that sent none does not start one."""
    hub = adaptive()
    hub.advance(1.0)
    hub.view.seqs_read({"sued": ("e1", 2)}, {"sued": ("e1", 1)})
    assert fanouts(hub.view.loaded("sued", state(1))) == []  # Redis had nothing new after all
    assert loads(hub.view.doorbell("sued", bell(2))) == ["sued"]


def test_one_locations_window_does_not_hold_another() -> None:
    """The window is per location: Nord's change goes out during Süd's window."""
    hub = adaptive()
    hub.view.join("nord", Screen("nord"))
    hub.view.doorbell("sued", bell(2))
    hub.load("sued", 2)
    assert loads(hub.view.doorbell("nord", bell(2))) == ["nord"]


def test_the_shipped_window_bounds_snapshots_per_second() -> None:
    """As shipped, no location gets more snapshots a second than its window allows."""
    assert 0 < HubTiming().coalesce_s <= 0.1


def test_a_window_of_zero_loads_again_at_once(hub: Harness) -> None:
    """With coalesce_s = 0 a change after a load is loaded at once."""
    hub = Harness(timing=HubTiming(coalesce_s=0.0))
    hub.settle(seq=1)
    hub.view.join("sued", Screen())
    hub.view.doorbell("sued", bell(2))
    hub.load("sued", 2)
    assert loads(hub.view.doorbell("sued", bell(3))) == ["sued"]


# --- fan-out ----------------------------------------------------------------------------


def test_a_load_fans_its_snapshot_out_to_the_screens(hub: Harness) -> None:
    """A loaded change goes to every screen of its location, serialised once."""
    hub.settle(seq=1)
    screens = {Screen("a"), Screen("b")}
    for screen in screens:
        hub.view.join("sued", screen)
    hub.view.doorbell("sued", bell(2))
    (fan,) = fanouts(hub.view.loaded("sued", state(2, A=3)))
    assert fan.location == "sued" and set(fan.screens) == screens
    snap = payload(fan.message)
    assert fan.message.kind is Kind.SNAPSHOT and snap["type"] == "snapshot"
    assert snap["seq"] == 2 and snap["epoch"] == "e1"
    assert next(q for q in snap["queues"] if q["id"] == "A")["waiting"] == 3


def test_a_fan_out_goes_to_its_location_only(hub: Harness) -> None:
    """Screens of another location get nothing from this one's change."""
    hub.settle(seq=1)
    nord = Screen("nord")
    hub.view.join("nord", nord)
    hub.view.join("sued", Screen("sued"))
    hub.view.doorbell("sued", bell(2))
    (fan,) = fanouts(hub.view.loaded("sued", state(2)))
    assert nord not in fan.screens


def test_a_snapshot_loaded_during_a_fan_out_waits_for_its_end(hub: Harness) -> None:
    """Screens get snapshots in order: the next fan-out starts when the last has ended."""
    hub = Harness(timing=HubTiming(coalesce_s=0.0))
    hub.settle(seq=1)
    hub.view.join("sued", Screen())
    hub.view.doorbell("sued", bell(2))
    (first,) = fanouts(hub.view.loaded("sued", state(2)))
    assert payload(first.message)["seq"] == 2
    hub.view.doorbell("sued", bell(3))
    assert fanouts(hub.view.loaded("sued", state(3))) == []
    (second,) = fanouts(hub.view.sent("sued"))
    assert payload(second.message)["seq"] == 3


def test_no_load_while_the_newest_snapshot_waits_for_its_fan_out(hub: Harness) -> None:
    """A snapshot that would be replaced before it went out is not worth loading."""
    hub = Harness(timing=HubTiming(coalesce_s=0.0))
    hub.settle(seq=1)
    hub.view.join("sued", Screen())
    hub.view.doorbell("sued", bell(2))
    hub.view.loaded("sued", state(2))  # its fan-out under way
    hub.view.doorbell("sued", bell(3))
    hub.view.loaded("sued", state(3))  # waits for the fan-out of 2
    assert loads(hub.view.doorbell("sued", bell(4))) == []
    actions = hub.view.sent("sued")
    assert len(fanouts(actions)) == 1 and loads(actions) == ["sued"]


def test_a_load_that_finds_the_seq_shown_sends_nothing_again(hub: Harness) -> None:
    """A doorbell that raced the load showing its change ends in no second fan-out."""
    hub.settle(seq=1)
    hub.view.join("sued", Screen())
    hub.view.doorbell("sued", bell(2))
    hub.load("sued", 2)
    hub.advance(TIMING.coalesce_s)
    hub.view.doorbell("sued", bell(2, epoch="e1"))  # shown already: ignored
    assert hub.view.seqs_read({"sued": ("e1", 3)}, {"sued": ("e1", 2)}) == [Load("sued")]
    assert fanouts(hub.view.loaded("sued", state(2))) == []
    assert hub.reloads("unchanged") == 1


def test_a_refresh_sends_the_seq_shown_again(hub: Harness) -> None:
    """The periodic refresh sends the same seq again (the waits have moved on)."""
    hub.settle(seq=4)
    hub.view.join("sued", Screen())
    assert "sued" in loads(hub.advance(TIMING.refresh_s) + hub.view.tick())
    (fan,) = fanouts(hub.view.loaded("sued", state(4)))
    assert payload(fan.message)["seq"] == 4
    assert hub.reloads("refresh") == 1


def test_a_rewound_redis_sends_even_the_same_seq(hub: Harness) -> None:
    """Redis restored from an older copy: the seq shown may stand for other content."""
    hub.settle(seq=9)
    hub.view.join("sued", Screen())
    assert loads(hub.view.seqs_read({"sued": ("e1", 5)}, {"sued": ("e1", 9)})) == ["sued"]
    assert len(fanouts(hub.view.loaded("sued", state(9)))) == 1


# --- screens joining and leaving ------------------------------------------------------------


def test_a_screen_that_joins_gets_the_current_snapshot_at_once(hub: Harness) -> None:
    """A new screen gets the cached snapshot, with no load from Redis."""
    hub.settle(seq=3)
    screen = Screen()
    actions = hub.view.join("sued", screen)
    (offer,) = offers(actions)
    assert offer.screens == (screen,) and payload(offer.message)["seq"] == 3
    assert loads(actions) == []


def test_a_screen_that_joins_shares_the_serialised_snapshot(hub: Harness) -> None:
    """The joiner gets the very message the fan-out sent: serialised once for all."""
    hub.settle(seq=1)
    hub.view.join("sued", Screen())
    hub.view.doorbell("sued", bell(2))
    (fan,) = fanouts(hub.view.loaded("sued", state(2)))
    (offer,) = offers(hub.view.join("sued", Screen("late")))
    assert offer.message is fan.message


def test_a_screen_joining_before_a_fan_out_gets_it_once(hub: Harness) -> None:
    """A snapshot waiting for its fan-out is not also offered to a screen joining now."""
    hub = Harness(timing=HubTiming(coalesce_s=0.0))
    hub.settle(seq=1)
    hub.view.join("sued", Screen())
    hub.view.doorbell("sued", bell(2))
    hub.view.loaded("sued", state(2))
    hub.view.doorbell("sued", bell(3))
    hub.view.loaded("sued", state(3))  # waits for the fan-out of 2
    joiner = Screen("joiner")
    assert hub.view.join("sued", joiner) == []
    (fan,) = fanouts(hub.view.sent("sued"))
    assert joiner in fan.screens and payload(fan.message)["seq"] == 3


def test_the_first_screen_of_an_unloaded_location_gets_the_load(hub: Harness) -> None:
    """Before the first load a screen gets nothing stale; the load's fan-out reaches it."""
    hub.view.start()
    screen = Screen()
    assert offers(hub.view.join("sued", screen)) == []
    hub.view.subscribed("sued")
    (fan,) = fanouts(hub.view.loaded("sued", state(1)))
    assert screen in fan.screens


def test_a_screen_that_left_is_not_sent_to(hub: Harness) -> None:
    """A screen that went away is not in the next fan-out, nor counted."""
    hub.settle(seq=1)
    gone, stays = Screen("gone"), Screen("stays")
    hub.view.join("sued", gone)
    hub.view.join("sued", stays)
    hub.view.leave("sued", gone)
    hub.view.leave("sued", gone)  # twice: counted once
    hub.view.doorbell("sued", bell(2))
    (fan,) = fanouts(hub.view.loaded("sued", state(2)))
    assert fan.screens == (stays,)
    gauge = hub.metrics.registry.get_sample_value("waitboard_ws_clients", {"location": "sued"})
    assert gauge == 1


# --- nobody watching ------------------------------------------------------------------------


def test_a_change_nobody_watches_is_held_not_loaded(hub: Harness) -> None:
    """Without a screen a change only marks the cached snapshot outdated."""
    hub.settle(seq=1)
    assert hub.view.doorbell("sued", bell(2)) == []
    assert hub.view.views["sued"].outdated and hub.reloads("held") == 1
    assert hub.view.cached("sued") is None  # a public read goes to Redis


def test_the_first_screen_of_an_outdated_location_loads_it(hub: Harness) -> None:
    """A screen never gets a snapshot known to be outdated: it gets the load."""
    hub.settle(seq=1)
    hub.view.doorbell("sued", bell(2))
    screen = Screen()
    actions = hub.view.join("sued", screen)
    assert offers(actions) == [] and loads(actions) == ["sued"]
    (fan,) = fanouts(hub.view.loaded("sued", state(2)))
    assert fan.screens == (screen,) and not hub.view.views["sued"].outdated


def test_a_public_read_of_an_outdated_location_makes_the_cache_current(hub: Harness) -> None:
    """A read that nothing was held back during serves the next visitors from the cache."""
    hub.settle(seq=1)
    hub.view.doorbell("sued", bell(2))
    held = hub.view.views["sued"].held
    snap, _ = hub.view.read("sued", state(2), held)
    assert snap["seq"] == 2
    assert hub.view.cached("sued") is snap


def test_a_public_read_during_which_a_change_was_held_keeps_the_cache_outdated(
    hub: Harness,
) -> None:
    """A change held back while the read was under way leaves the cache outdated."""
    hub.settle(seq=1)
    hub.view.doorbell("sued", bell(2))
    held = hub.view.views["sued"].held
    hub.view.doorbell("sued", bell(3))  # comes while the read is under way
    snap, actions = hub.view.read("sued", state(2), held)
    assert snap["seq"] == 2 and actions == []
    assert hub.view.cached("sued") is None


def test_a_public_read_is_served_from_the_cache_while_current(hub: Harness) -> None:
    """A current view answers public reads without Redis."""
    hub.settle(seq=5)
    cached = hub.view.cached("sued")
    assert cached is not None and cached["seq"] == 5


# --- stale and heartbeats ----------------------------------------------------------------


def test_a_current_view_beats_with_its_epoch_and_seq(hub: Harness) -> None:
    """Screens of a current view get a heartbeat naming the epoch and seq shown."""
    hub.settle(seq=6)
    screen = Screen()
    hub.view.join("sued", screen)
    (beat,) = hub.view.beat()
    assert beat.screens == (screen,)
    assert payload(beat.message) == {"type": "heartbeat", "epoch": "e1", "seq": 6}


def test_locations_without_screens_get_no_beat(hub: Harness) -> None:
    """Nobody to tell, nothing sent."""
    hub.settle()
    assert hub.view.beat() == []


def test_a_change_not_loaded_within_stale_after_makes_the_view_stale(hub: Harness) -> None:
    """A change that waits for its load longer than stale_after_s turns beats into stale."""
    hub.settle(seq=1)
    screen = Screen()
    hub.view.join("sued", screen)
    hub.view.doorbell("sued", bell(2))
    hub.view.load_failed("sued")
    hub.now += TIMING.stale_after_s - 0.1
    assert payload(hub.view.beat()[0].message)["type"] == "heartbeat"
    hub.now += 0.2
    (beat,) = hub.view.beat()
    assert beat.message is STALE and beat.screens == (screen,)


def test_a_lost_link_tells_every_screen_at_once(hub: Harness) -> None:
    """When the pub/sub link drops, every screen and overview is told it is stale."""
    hub.settle()
    sued, nord, overview = Screen("sued"), Screen("nord"), Screen("overview")
    hub.view.join("sued", sued)
    hub.view.join("nord", nord)
    hub.view.join_overview(overview)
    (offer,) = offers(hub.view.link_lost())
    assert offer.message is STALE and set(offer.screens) == {sued, nord, overview}
    assert hub.view.link_lost() == []  # once
    assert all(b.message is STALE for b in hub.view.beat())


def test_screens_told_stale_get_the_next_load_even_if_unchanged(hub: Harness) -> None:
    """After the link comes back the snapshot goes out again, though its seq is the same."""
    hub.settle(seq=3)
    hub.view.join("sued", Screen())
    hub.view.link_lost()
    assert loads(hub.view.subscribed("sued")) == ["sued"]
    assert len(fanouts(hub.view.loaded("sued", state(3)))) == 1


# --- failures ---------------------------------------------------------------------------


def test_a_failed_load_is_retried_after_a_growing_back_off(hub: Harness) -> None:
    """A load that failed is tried again after 0.2 s, then 0.4 s, ..."""
    hub.settle(seq=1)
    hub.view.join("sued", Screen())
    hub.view.doorbell("sued", bell(2))
    assert hub.view.load_failed("sued") == []
    assert hub.view.next_wake() == pytest.approx(hub.now + 0.2)
    assert loads(hub.advance(0.19)) == []
    assert loads(hub.advance(0.02)) == ["sued"]
    hub.view.load_failed("sued")
    assert hub.view.next_wake() == pytest.approx(hub.now + 0.4)


def test_the_link_coming_back_cuts_a_back_off_short(hub: Harness) -> None:
    """Loads waiting out a back-off try again as soon as the subscription is back."""
    hub.settle(seq=1)
    hub.view.join("sued", Screen())
    hub.view.doorbell("sued", bell(2))
    for _ in range(5):
        hub.view.load_failed("sued")
        hub.now = hub.view.next_wake() or hub.now
        hub.view.poll()
    hub.view.load_failed("sued")
    hub.view.link_lost()
    assert loads(hub.view.subscribed("sued")) == ["sued"]


def test_a_failed_load_keeps_its_reasons(hub: Harness) -> None:
    """The retry counts the reasons of the load that failed."""
    hub.settle(seq=1)
    hub.view.join("sued", Screen())
    hub.view.doorbell("sued", bell(2))
    hub.view.load_failed("sued")
    hub.advance(1.0)
    hub.load("sued", 2)
    assert hub.reloads("change") == 1


# --- timers: seq check, hours ---------------------------------------------------------------


def test_the_seq_check_asks_for_every_location_when_due(hub: Harness) -> None:
    """Every drift_check_s the view asks Redis for the seqs, with what it shows."""
    hub.settle(seq=2)
    assert [a for a in hub.view.tick() if isinstance(a, CheckSeqs)] == []
    hub.now += TIMING.drift_check_s
    (check,) = [a for a in hub.view.tick() if isinstance(a, CheckSeqs)]
    assert check.before == {"sued": ("e1", 2), "nord": ("e1", 2)}


def test_a_seq_check_finding_a_lost_change_loads_it(hub: Harness) -> None:
    """A change whose doorbell never came is found by the seq check and loaded."""
    hub.settle(seq=2)
    hub.view.join("sued", Screen())
    read = {"sued": ("e1", 3), "nord": ("e1", 2)}
    assert loads(hub.view.seqs_read(read, {"sued": ("e1", 2), "nord": ("e1", 2)})) == ["sued"]


def test_a_location_that_closed_since_its_snapshot_is_reloaded() -> None:
    """Closing time reloads the location now, not at the next refresh."""
    hub = Harness(office=load_test_office("08:00-12:00"))
    hub.settle(seq=1)
    hub.view.join("sued", Screen())
    assert hub.view.tick() == []
    hub.wall += timedelta(hours=3)  # past 12:00 in Düsseldorf
    assert "sued" in loads(hub.view.tick())
    (fan,) = fanouts(hub.view.loaded("sued", state(1)))
    assert payload(fan.message)["open"] is False


# --- the overview -------------------------------------------------------------------------


def test_the_overview_waits_until_every_location_is_loaded(hub: Harness) -> None:
    """The overview is complete or not sent: one loaded location makes none."""
    overview = Screen("overview")
    hub.view.join_overview(overview)
    hub.up()
    assert offers(hub.load("sued", 1)) == []
    (offer,) = offers(hub.load("nord", 1))
    message = payload(offer.message)
    assert offer.screens == (overview,) and message["type"] == "locations"
    assert [loc["id"] for loc in message["locations"]] == ["sued", "nord"]


def test_the_overview_is_coalesced(hub: Harness) -> None:
    """Changes within overview_coalesce_s make one overview message, at its end."""
    hub.settle(seq=1)
    hub.view.join("sued", Screen())
    hub.advance(TIMING.overview_coalesce_s)
    hub.view.doorbell("sued", bell(2))
    assert len(offers(hub.load("sued", 2))) == 1
    hub.advance(TIMING.coalesce_s)
    hub.view.doorbell("sued", bell(3))
    assert offers(hub.load("sued", 3)) == []
    (offer,) = offers(hub.advance(TIMING.overview_coalesce_s))
    assert payload(offer.message)["locations"][0]["seq"] == 3


def test_an_overview_screen_that_joins_gets_the_overview_at_once(hub: Harness) -> None:
    """A new overview screen gets the cached overview."""
    hub.settle()
    (offer,) = offers(hub.view.join_overview(Screen()))
    assert payload(offer.message)["type"] == "locations"


def test_an_overview_screen_makes_held_locations_load(hub: Harness) -> None:
    """Held-back changes load when an overview screen comes; it gets no outdated overview."""
    hub.settle()
    hub.view.doorbell("nord", bell(2))
    actions = hub.view.join_overview(Screen())
    assert offers(actions) == [] and loads(actions) == ["nord"]


def test_the_overview_beats_only_when_every_location_is_current(hub: Harness) -> None:
    """One stale location makes the overview beat stop."""
    hub.settle()
    overview = Screen("overview")
    hub.view.join_overview(overview)
    assert [b.message for b in hub.view.beat()] == [OVERVIEW_BEAT]
    hub.view.join("nord", Screen())
    hub.view.doorbell("nord", bell(2))
    hub.view.load_failed("nord")
    hub.now += TIMING.stale_after_s + 1
    assert OVERVIEW_BEAT not in [b.message for b in hub.view.beat()]


def test_settled_means_nothing_pending(hub: Harness) -> None:
    """A location with a load or a fan-out pending is not settled."""
    hub.settle()
    hub.view.join("sued", Screen())
    hub.view.doorbell("sued", bell(2))
    assert not hub.view.settled("sued")
    hub.load("sued", 2)
    assert hub.view.settled("sued")
