"""The hub's decisions, without I/O: when to reload a location, what to send to whom, when
a view is stale - fed with events, answering with actions.

As ``websockets`` keeps its protocol apart from its sockets, :class:`View` never awaits,
reads Redis or writes to a client. The hub (:mod:`waitboard.live.hub`) tells it what
happened - a doorbell, a load's result, a fan-out's end, the link up or down, a screen
joining or leaving, the timers - and carries out what it answers: :class:`Load` a
location's state, :class:`FanOut` a snapshot to a location's screens in turns,
:class:`Offer` a message to a few screens now, :class:`CheckSeqs` against Redis. It asks
:meth:`View.next_wake` when a decision waits for the time to pass.

Guarantees
  * Pub/sub is only a doorbell (at-most-once): a doorbell with a newer seq, a
    (re)subscription, a drift found by the seq check and the periodic refresh all make the
    location reload; nothing relies on every message arriving.
  * One load in flight per location, and none while the newest snapshot waits for its
    fan-out: a snapshot that would be replaced before it went out is not worth loading.
  * A change goes out as soon as the location's last fan-out has ended; what comes during
    a load or a fan-out coalesces into the next snapshot; snapshots of one location are
    at least ``coalesce_s`` apart (:meth:`LocationView.load_due_at`).
  * Each snapshot is serialised once (:class:`Message`); a fan-out takes the screens there
    are when it starts, a screen joining later gets the cached snapshot at once.
  * A location nobody watches is not reloaded on every change: the change marks its cached
    snapshot ``outdated`` until the next public read or the first screen loads it.
  * A view is current while the link is up and no known change has waited for its load
    longer than ``stale_after_s``; screens of a view that is not current are told
    ``stale`` instead of a heartbeat, and all at once when the link drops.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any, Generic

import orjson

from waitboard.core import snapshot
from waitboard.core.clock import Clock, to_ms
from waitboard.core.office import Office
from waitboard.core.state import LocationState
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
    S,
)
from waitboard.live.location import (
    FIRST_BACKOFF_S,
    MAX_BACKOFF_S,
    SEQ_REASONS,
    LocationView,
    drift,
)
from waitboard.live.overview import Overview
from waitboard.live.timing import HubTiming
from waitboard.metrics import Metrics


class View(Generic[S]):
    """Every location's cached view and the decisions about it (see the module's text)."""

    def __init__(
        self,
        office: Office,
        timing: HubTiming,
        clock: Clock,
        metrics: Metrics,
        monotonic: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.office = office
        self.timing = timing
        self.clock = clock
        self.metrics = metrics
        self.monotonic = monotonic
        self.jitter = jitter
        self.views: dict[str, LocationView[S]] = {
            loc.id: LocationView(loc.id) for loc in office.locations
        }
        self.overview: Overview[S] = Overview(timing.overview_coalesce_s)
        self.listening = False  # the pub/sub subscription is established
        self._last_drift = self._last_refresh = monotonic()

    # --- state ------------------------------------------------------------------------------

    def is_current(self, view: LocationView[S]) -> bool:
        """The view shows the state in Redis, give or take the coalescing window."""
        if not self.listening or view.message is None or view.outdated:
            return False
        return (
            view.dirty_since is None
            or self.monotonic() - view.dirty_since < self.timing.stale_after_s
        )

    def settled(self, location: str) -> bool:
        """Linked, loaded and sent, with nothing pending."""
        view = self.views[location]
        return bool(
            self.listening
            and view.message is not None
            and not (view.dirty or view.loading or view.unsent)
        )

    def next_wake(self) -> float | None:
        """When a decision waits for the time (monotonic), if one does: call :meth:`poll`."""
        coalesce_s = self.timing.coalesce_s
        times = [v.load_due_at(coalesce_s) for v in self.views.values() if v.wants_load]
        overview = self.overview.wake_at()
        return min([*times, overview] if overview is not None else times, default=None)

    def poll(self) -> list[Action[S]]:
        """What has become due with the passing of time."""
        actions: list[Action[S]] = []
        for view in self.views.values():
            actions += self._pump(view)
        return actions + self._pump_overview()

    # --- events: the link and the doorbells ---------------------------------------------

    def start(self) -> list[Action[S]]:
        self._last_drift = self._last_refresh = self.monotonic()
        for view in self.views.values():
            self._mark(view, "start")
        return self.poll()

    def subscribed(self, location: str) -> list[Action[S]]:
        """The subscription to a location's channel is (re)established: what was published
        while it was not is lost, so the location reloads; loads waiting out a back-off
        after a failure try again now."""
        if not self.listening:
            for view in self.views.values():
                if view.retrying:
                    view.retrying, view.next_load_at = False, 0.0
        self.listening = True
        self.metrics.hub_redis_up.set(1)
        self._mark(self.views[location], "subscribed")
        return self.poll()

    def link_lost(self) -> list[Action[S]]:
        """Every screen is told at once that what it shows may be stale."""
        if not self.listening:
            return []
        self.listening = False
        self.metrics.hub_redis_up.set(0)
        screens = [s for v in self.views.values() for s in v.subscribers]
        return [Offer(STALE, (*screens, *self.overview.subscribers))]

    def doorbell(self, location: str, data: bytes | str) -> list[Action[S]]:
        """A change was committed in Redis (or we may have missed some)."""
        view = self.views.get(location)
        if view is None:
            return []
        try:
            bell = orjson.loads(data)
            epoch, seq, ts = str(bell["epoch"]), int(bell["seq"]), int(bell["ts"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            self._mark(view, "bad_doorbell")
            return self._pump(view)
        if epoch == view.epoch and seq <= view.seq:
            return []  # already shown (the reload it triggered read a newer state)
        next_in_line = epoch == view.epoch and seq == view.seq + 1
        self._mark(view, "change" if next_in_line else "gap", change_ts=ts)
        return self._pump(view)

    # --- events: loads and fan-outs -------------------------------------------------------

    def loaded(self, location: str, state: LocationState) -> list[Action[S]]:
        view = self.views[location]
        load, view.load = view.load, None
        assert load is not None, "a load's result without a load"
        unchanged = (state.epoch, state.seq) == (view.epoch, view.seq)
        if load.shown and unchanged and view.held == load.held and load.reasons <= SEQ_REASONS:
            # Loaded for a change the screens already have: a doorbell or a seq check that
            # came while the load showing it was under way. The same snapshot again would
            # be a second fan-out for nothing.
            if not view.dirty:  # (else a newer change came meanwhile)
                view.change_ts = None
            self.metrics.hub_reloads.labels("unchanged").inc()
        else:
            # (A change held back during the read, for want of a screen, leaves the view
            # outdated: then it publishes, for the screen that may come.)
            self._publish(view, state, load.held)
        view.backoff = FIRST_BACKOFF_S
        for reason in load.reasons:
            self.metrics.hub_reloads.labels(reason).inc()
        return self._pump(view) + self._pump_overview()

    def load_failed(self, location: str) -> list[Action[S]]:
        """Keep the change pending (and the view not current); retry after a back-off, or
        as soon as the subscription is back."""
        view = self.views[location]
        load, view.load = view.load, None
        assert load is not None, "a load's failure without a load"
        view.reasons |= load.reasons
        since = [t for t in (load.pending_since, view.dirty_since) if t is not None]
        view.dirty_since = min(since, default=self.monotonic())
        view.dirty = view.retrying = True
        view.next_load_at = self.monotonic() + view.backoff * (0.5 + self.jitter())
        view.backoff = min(view.backoff * 2, MAX_BACKOFF_S)
        return []

    def sent(self, location: str) -> list[Action[S]]:
        """A fan-out has offered its snapshot to every screen it took."""
        view = self.views[location]
        view.sending = False
        view.last_fanout_s = self.monotonic() - view.last_fanout_at
        return self._pump(view)

    # --- events: screens ------------------------------------------------------------------

    def join(self, location: str, sub: S) -> list[Action[S]]:
        view = self.views[location]
        view.subscribers.add(sub)
        self.metrics.ws_clients.labels(location).inc()
        if view.message is not None and not view.outdated:
            if view.unsent:
                return []  # the coming fan-out includes this one
            return [Offer(view.message, (sub,))]  # from the cache: no Redis read per client
        if not (view.loading or view.dirty):
            self._mark(view, "first_client")
        # else: the load under way reaches this one too
        return self._pump(view)

    def leave(self, location: str, sub: S) -> None:
        view = self.views[location]
        if sub in view.subscribers:
            view.subscribers.discard(sub)
            self.metrics.ws_clients.labels(location).dec()

    def join_overview(self, sub: S) -> list[Action[S]]:
        self.overview.subscribers.add(sub)
        self.metrics.ws_clients.labels("*").inc()
        outdated = [v for v in self.views.values() if v.outdated]
        actions: list[Action[S]] = []
        for view in outdated:  # watched from now on: load what was held back
            self._mark(view, "first_client")
            actions += self._pump(view)
        if self.overview.message is not None and not outdated:
            actions.append(Offer(self.overview.message, (sub,)))
        return actions

    def leave_overview(self, sub: S) -> None:
        if sub in self.overview.subscribers:
            self.overview.subscribers.discard(sub)
            self.metrics.ws_clients.labels("*").dec()

    # --- events: public reads -------------------------------------------------------------

    def cached(self, location: str) -> dict[str, Any] | None:
        """The snapshot for a public read while the view is current (else read Redis)."""
        view = self.views[location]
        return view.snapshot if self.is_current(view) else None

    def read(
        self, location: str, state: LocationState, held_before: int
    ) -> tuple[dict[str, Any], list[Action[S]]]:
        """A public read's state from Redis: its snapshot, and what it sets going.

        ``held_before`` is the location's ``held`` when the read began. If nothing was
        held back meanwhile, an outdated cache is current again, and the next visitors are
        served from it."""
        view = self.views[location]
        if (
            view.outdated
            and view.held == held_before
            and self.listening
            and (state.epoch != view.epoch or state.seq >= view.seq)
        ):
            self._publish(view, state, held_before)
            assert view.snapshot is not None
            return view.snapshot, self._pump(view) + self._pump_overview()
        loc = self.office.location_by_id[location]
        return snapshot.snapshot(self.office, loc, state, self.clock()), []

    # --- events: timers -------------------------------------------------------------------

    def tick(self) -> list[Action[S]]:
        """The periodic checks: the seq check, the refresh, the opening hours."""
        now, t = self.monotonic(), self.timing
        actions: list[Action[S]] = []
        if now - self._last_drift >= t.drift_check_s:
            self._last_drift = now
            actions.append(CheckSeqs({loc: (v.epoch, v.seq) for loc, v in self.views.items()}))
        if now - self._last_refresh >= t.refresh_s:
            self._last_refresh = now
            for view in self.views.values():
                self._mark(view, "refresh")
        self._check_hours()
        return actions + self.poll()

    def seqs_read(
        self, read: dict[str, tuple[str, int]], before: dict[str, tuple[str, int]]
    ) -> list[Action[S]]:
        for location, seq in read.items():
            view = self.views[location]
            reason = drift(seq, (view.epoch, view.seq), before[location])
            if reason is not None:
                self._mark(view, reason)
        return self.poll()

    def beat(self) -> list[Offer[S]]:
        """Current views beat; the others say they are stale (the screens show a banner)."""
        offers: list[Offer[S]] = []
        for view in self.views.values():
            if not view.subscribers:
                continue
            if self.is_current(view):
                payload = {"type": "heartbeat", "epoch": view.epoch, "seq": view.seq}
                message = Message(Kind.HEARTBEAT, orjson.dumps(payload))
                offers.append(Offer(message, tuple(view.subscribers)))
            else:
                offers.append(Offer(STALE, tuple(view.subscribers)))
        if self.overview.subscribers and all(self.is_current(v) for v in self.views.values()):
            offers.append(Offer(OVERVIEW_BEAT, tuple(self.overview.subscribers)))
        return offers

    def _check_hours(self) -> None:
        """A location that opened or closed since its snapshot is reloaded now, not at the
        next refresh: a terminal must not offer a ticket for long after closing time, nor
        make people wait for its buttons after opening."""
        now = self.clock()
        for location, view in self.views.items():
            shown = view.snapshot
            if view.outdated or view.dirty:
                continue  # a reload is on its way (or held until someone looks)
            loc = self.office.location_by_id[location]
            if shown is not None and shown["open"] != snapshot.is_open(self.office, loc, now):
                self._mark(view, "hours")

    # --- the decisions ------------------------------------------------------------------

    def _watched(self, view: LocationView[S]) -> bool:
        return bool(view.subscribers or self.overview.subscribers)

    def _mark(self, view: LocationView[S], reason: str, change_ts: int | None = None) -> None:
        if view.message is not None and not self._watched(view):
            # Nobody here watches this location: load it when someone looks (a public read
            # or a screen), not on every change. A process knows every location; at a
            # given moment most have no viewer on it, and a reload is not free.
            view.outdated = True
            view.held += 1
            self.metrics.hub_reloads.labels("held").inc()
            return
        view.reasons.add(reason)
        if change_ts is not None and view.change_ts is None:
            view.change_ts = change_ts
        if view.dirty_since is None:
            view.dirty_since = self.monotonic()
        view.dirty = True

    def _pump(self, view: LocationView[S]) -> list[Action[S]]:
        """Start what the location is ready for: its fan-out, its load."""
        actions: list[Action[S]] = []
        if view.unsent and not view.sending:
            assert view.message is not None
            view.unsent, view.sending = False, True
            if view.frame_change_ts is not None:
                lag = max(0.0, (to_ms(self.clock()) - view.frame_change_ts) / 1000)
                self.metrics.publish_to_send.observe(lag)
                view.frame_change_ts = None
            view.last_fanout_at = self.monotonic()
            actions.append(FanOut(view.location, view.message, tuple(view.subscribers)))
        now = self.monotonic()
        if view.wants_load and now >= view.load_due_at(self.timing.coalesce_s):
            # (Whether the screens show the view as current is asked before the pending
            # change is taken off: screens told it is stale get the load's snapshot at
            # once, not only with the next heartbeat.)
            view.begin_load(shown=self.is_current(view), now=now)
            actions.append(Load(view.location))
        return actions

    def _publish(self, view: LocationView[S], state: LocationState, held_before: int) -> None:
        loc = self.office.location_by_id[view.location]
        snap = snapshot.snapshot(self.office, loc, state, self.clock())
        view.snapshot, view.epoch, view.seq = snap, state.epoch, state.seq
        # Current, unless a change was held back while this state was being read.
        view.outdated = view.held != held_before
        view.message = Message(Kind.SNAPSHOT, orjson.dumps(snap))
        if view.frame_change_ts is None:
            view.frame_change_ts = view.change_ts
        view.change_ts = None
        view.unsent = True
        self.overview.dirty = True

    def _pump_overview(self) -> list[Action[S]]:
        snaps = [v.snapshot for v in self.views.values()]
        return self.overview.pump(snaps, self.monotonic())
