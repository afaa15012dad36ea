"""The hub: Redis pub/sub -> one cached view per location -> every connected screen.

Guarantees
  * Pub/sub is only a doorbell (at-most-once). The state always comes from Redis: a
    doorbell with a newer seq, a (re)subscription, a drift found by the periodic seq check
    and a periodic refresh all make the location reload; nothing relies on every message
    arriving.
  * Changes are coalesced: one reload in flight per location and at most one per
    ``coalesce_s``; each snapshot is serialised once and the same frame goes to all.
  * Reloading and sending overlap: a location's screens get its newest snapshot in turns
    (:meth:`Hub._send_loop`), and the next reload runs meanwhile, so a fan-out to
    thousands never waits for Redis, and no location's fan-out holds up the others.
  * Fan-out never waits on a client: :meth:`Subscriber.offer` must not block. Slow clients
    are the subscriber's business (see :mod:`waitboard.live.endpoints`).
  * A location nobody watches on this process is not reloaded on every change: the change
    marks its cached snapshot outdated, and the next public read (or the first screen)
    loads it. Until then public reads go to Redis; nothing is ever served stale.
  * Heartbeats go only to screens of a view that is current: the pub/sub link is up and no
    known change has waited for its reload longer than ``stale_after_s``. Screens of a view
    that is not current get ``{"type": "stale"}`` instead - at once when the link to Redis
    drops - so the lobby says "Verbindung unterbrochen" without waiting for silence.
  * Redis back: the subscription returns within a second, every view reloads at once.
  * No loop dies silently: each is supervised, logs what went wrong and starts again.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

import orjson
from redis import exceptions as rx

from waitboard.core import snapshot
from waitboard.core.clock import Clock, to_ms
from waitboard.core.errors import Unavailable
from waitboard.core.office import Office
from waitboard.core.state import LocationState
from waitboard.live.wire import text_frame
from waitboard.metrics import Metrics
from waitboard.store import keys
from waitboard.store.office_store import Store

log = logging.getLogger(__name__)


class Frame(enum.Enum):
    SNAPSHOT = "snapshot"
    HEARTBEAT = "heartbeat"
    STALE = "stale"


@dataclass(frozen=True, slots=True)
class OutFrame:
    """A message for many clients, serialised once: as text (for ASGI) and as the
    encoded WebSocket frame (written as is by :mod:`waitboard.live.wire`)."""

    kind: Frame
    text: str
    wire: bytes

    @classmethod
    def of(cls, kind: Frame, payload: bytes) -> OutFrame:
        return cls(kind, payload.decode(), text_frame(payload))


class Subscriber(Protocol):
    def offer(self, frame: OutFrame) -> None:
        """Take a frame to send; must return at once, never block or raise."""


@dataclass(frozen=True)
class HubTiming:
    coalesce_s: float = 0.1  # at most ~10 snapshots/s per location
    heartbeat_s: float = 5.0  # the contract promises one at least every 10 s
    stale_after_s: float = 5.0  # a change not loaded after this long: the view is not current
    drift_check_s: float = 5.0  # compare every location's seq with Redis
    refresh_s: float = 30.0  # re-read everything (open/closed, waited times move on)
    roll_day_s: float = 60.0
    ping_s: float = 3.0  # pub/sub link liveness
    dead_after_s: float = 8.0  # no answer on the pub/sub link for this long: reconnect
    overview_coalesce_s: float = 0.5
    send_timeout_s: float = 5.0  # a client that cannot take a frame this long is dropped


@dataclass(eq=False)
class LocationView:
    location: str
    snapshot: dict[str, Any] | None = None
    frame: OutFrame | None = None
    epoch: str = ""
    seq: int = -1
    subscribers: set[Subscriber] = field(default_factory=set)
    dirty: asyncio.Event = field(default_factory=asyncio.Event)
    reasons: set[str] = field(default_factory=set)
    change_ts: int | None = None  # commit time (ms) of the oldest change not yet loaded
    # ``frame`` has not yet been offered to every subscriber; the send loop does that.
    unsent: asyncio.Event = field(default_factory=asyncio.Event)
    # The send loop has begun offering ``frame`` (a reload waits for it: a snapshot that
    # would be replaced before it went out is not worth loading). Once a frame exists it
    # is ``not unsent``, kept as an event of its own because an event cannot be awaited
    # to clear.
    taken: asyncio.Event = field(default_factory=asyncio.Event)
    frame_change_ts: int | None = None  # commit time (ms) of the oldest change in ``frame``
    dirty_since: float | None = None  # monotonic time of the oldest change not yet loaded
    # Nobody here watches the location: its changes are not loaded as they come, the
    # cached snapshot is then known to be older than Redis (``outdated``) until the next
    # read loads it. ``held`` counts the changes so held back.
    outdated: bool = False
    held: int = 0
    loading: bool = False  # a reload is under way


#: Screens sent to in one go before other work gets a turn (~5 ms of sending).
TURN = 500

#: Reasons to reload that are about the seq alone: if Redis still has the seq the screens
#: have, there is nothing new to send. (A refresh is about waits that move on, a
#: (re)subscription and a first screen about the screens themselves, and a rewind means
#: the same seq may now stand for other content: those always send.)
SEQ_REASONS = frozenset({"change", "gap", "drift", "bad_doorbell"})


def drift(read: tuple[str, int], shown: tuple[str, int], before: tuple[str, int]) -> str | None:
    """What the (epoch, seq) a seq check read from Redis says of a view: None if nothing
    is amiss, ``"drift"`` if the view misses changes, ``"rewound"`` if Redis went back.

    ``shown`` is the view's (epoch, seq) now, ``before`` when the check asked. A view that
    moved past what was read while the answer came is not behind: its reload read later.
    Redis behind what the view showed when the check asked was restored from an older
    copy (a backup, a failover that lost writes).
    """
    if read == shown:
        return None
    if read[0] == before[0] == shown[0]:
        if read[1] < before[1]:
            return "rewound"
        if read[1] < shown[1]:
            return None  # moved on
    return "drift"


#: How many times (a second apart) stop() cancels a loop that has not ended.
STOP_ROUNDS = 5


async def supervise(name: str, loop: Callable[[], Awaitable[None]]) -> None:
    """Run ``loop`` for ever: log what makes it fail and start it again a second later,
    until the task is cancelled - also if the loop turned its cancellation into an error
    of its own (a library closing a connection on the way out, say)."""
    while True:
        try:
            await loop()
        except asyncio.CancelledError:
            raise
        except Exception:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise asyncio.CancelledError from None
            log.exception("background loop failed; restarting it", extra={"loop": name})
            await asyncio.sleep(1.0)


async def _offer_in_turns(subscribers: list[Subscriber], frame: OutFrame) -> None:
    """Offer ``frame`` to each, yielding to the event loop every TURN and at the end."""
    for i, sub in enumerate(subscribers, 1):
        sub.offer(frame)
        if i % TURN == 0:
            await asyncio.sleep(0)
    await asyncio.sleep(0)


class Hub:
    def __init__(
        self,
        store: Store,
        office: Office,
        metrics: Metrics,
        clock: Clock,
        timing: HubTiming | None = None,
    ) -> None:
        self.store = store
        self.office = office
        self.metrics = metrics
        self.clock = clock
        self.timing = timing or HubTiming()
        self.views = {loc.id: LocationView(loc.id) for loc in office.locations}
        self.overview_subscribers: set[Subscriber] = set()
        self.overview_frame: OutFrame | None = None
        self._overview_dirty = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.listening = False  # the pub/sub subscription is established
        # Set (and replaced) whenever a subscription is established: reloads that failed
        # wait for it instead of their whole back-off.
        self._link_up = asyncio.Event()

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Start in the background; Redis may still be down (the hub keeps trying)."""
        loops: list[tuple[str, Callable[[], Awaitable[None]]]] = [
            ("listen", self._listen),
            ("ticker", self._ticker),
            ("heartbeat", self._heartbeat_loop),
            ("overview", self._overview_loop),
        ]
        for v in self.views.values():
            loops.append((f"refresh.{v.location}", partial(self._refresh_loop, v)))
            loops.append((f"send.{v.location}", partial(self._send_loop, v)))
        self._tasks = [
            asyncio.create_task(supervise(name, loop), name=f"hub.{name}") for name, loop in loops
        ]
        for view in self.views.values():
            self._mark(view, "start")

    async def stop(self) -> None:
        """Cancel every loop and wait until they end, for at most STOP_ROUNDS seconds.

        A loop may lose its cancellation inside a library (on Python 3.11 a cancellation
        that meets an expiring ``asyncio.timeout`` can come out as a TimeoutError, which
        the loop then handles as Redis being slow): such a loop is cancelled again.
        """
        pending = set(self._tasks)
        for _ in range(STOP_ROUNDS):
            if not pending:
                break
            for task in pending:
                task.cancel()
            _, pending = await asyncio.wait(pending, timeout=1.0)
        if pending:
            log.warning(
                "hub loops did not stop", extra={"loops": sorted(t.get_name() for t in pending)}
            )
        for task in self._tasks:
            if task.done() and not task.cancelled():
                task.exception()  # retrieved: it was logged where it happened
        self._tasks = []

    def is_current(self, view: LocationView) -> bool:
        """The view shows the state in Redis, give or take the coalescing window."""
        if not self.listening or view.frame is None or view.outdated:
            return False
        return (
            view.dirty_since is None
            or time.monotonic() - view.dirty_since < self.timing.stale_after_s
        )

    # --- subscribers ------------------------------------------------------------------------

    def subscribe(self, location: str, sub: Subscriber) -> None:
        view = self.views[location]
        view.subscribers.add(sub)
        self.metrics.ws_clients.labels(location).inc()
        if view.frame is not None and not view.outdated:
            if not view.unsent.is_set():  # else the coming fan-out includes this one
                sub.offer(view.frame)  # from the cache: no Redis read per client
        elif not (view.loading or view.dirty.is_set()):
            self._mark(view, "first_client")
        # else: the reload under way reaches this one too

    def unsubscribe(self, location: str, sub: Subscriber) -> None:
        view = self.views[location]
        if sub in view.subscribers:
            view.subscribers.discard(sub)
            self.metrics.ws_clients.labels(location).dec()

    def subscribe_overview(self, sub: Subscriber) -> None:
        self.overview_subscribers.add(sub)
        self.metrics.ws_clients.labels("*").inc()
        outdated = [v for v in self.views.values() if v.outdated]
        for view in outdated:  # watched from now on: load what was held back
            self._mark(view, "first_client")
        if self.overview_frame is not None and not outdated:
            sub.offer(self.overview_frame)

    def unsubscribe_overview(self, sub: Subscriber) -> None:
        if sub in self.overview_subscribers:
            self.overview_subscribers.discard(sub)
            self.metrics.ws_clients.labels("*").dec()

    async def snapshot(self, location: str) -> dict[str, Any]:
        """The location's snapshot for a public read: from the cache while the view is
        current (no Redis round trip per visitor), else read from Redis now."""
        view = self.views[location]
        if self.is_current(view) and view.snapshot is not None:
            return view.snapshot
        held = view.held
        state = await self.store.location_state(location)
        if (
            view.outdated
            and view.held == held
            and self.listening
            and (state.epoch != view.epoch or state.seq >= view.seq)
        ):
            # Nothing was held back during the read: the cache is current again, and the
            # next visitors are served from it.
            self._publish(view, state, held)
            assert view.snapshot is not None
            return view.snapshot
        loc = self.office.location_by_id[location]
        return snapshot.snapshot(self.office, loc, state, self.clock())

    # --- reloading --------------------------------------------------------------------------

    def _watched(self, view: LocationView) -> bool:
        return bool(view.subscribers or self.overview_subscribers)

    def _mark(self, view: LocationView, reason: str, change_ts: int | None = None) -> None:
        if view.frame is not None and not self._watched(view):
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
            view.dirty_since = time.monotonic()
        view.dirty.set()

    async def _refresh_loop(self, view: LocationView) -> None:
        backoff = 0.2
        while True:
            await view.dirty.wait()
            view.dirty.clear()
            reasons, view.reasons = view.reasons, set()
            # Whether the screens show this view as current (checked before the pending
            # change is taken off): screens told it is stale get the reload's snapshot
            # at once, not only with the next heartbeat.
            shown = self.is_current(view)
            pending_since, view.dirty_since = view.dirty_since, None
            started, held = time.monotonic(), view.held
            view.loading = True
            try:
                state = await self.store.location_state(view.location)
                # (A change held back during the read, for want of a screen, makes the
                # view outdated: then it publishes, for the screen that may come.)
                unchanged = (state.epoch, state.seq) == (view.epoch, view.seq)
                if shown and unchanged and view.held == held and reasons <= SEQ_REASONS:
                    # Marked for a change the screens already have: a doorbell or a seq
                    # check that came while the reload showing it was under way. The same
                    # snapshot again would be a second fan-out for nothing.
                    if not view.dirty.is_set():  # (else a newer change came meanwhile)
                        view.change_ts = None
                    self.metrics.hub_reloads.labels("unchanged").inc()
                else:
                    self._publish(view, state, held)
            except Exception as e:
                # Keep the change pending (and the view marked as not current), retry later
                # - or at once when the subscription is back.
                view.loading = False
                view.reasons |= reasons
                view.dirty_since = min(
                    filter(None, (pending_since, view.dirty_since)), default=time.monotonic()
                )
                if not isinstance(e, Unavailable | rx.RedisError | OSError):
                    log.exception("reloading a location failed", extra={"location": view.location})
                await self._pause_until_link(backoff * (0.5 + random.random()))  # noqa: S311
                backoff = min(backoff * 2, 5.0)
                view.dirty.set()
                continue
            view.loading = False
            backoff = 0.2
            for reason in reasons:
                self.metrics.hub_reloads.labels(reason).inc()
            # The window counts from the reload's start: a fan-out to thousands of screens
            # takes a while, and the window is not meant to come on top of it.
            await asyncio.sleep(max(0.0, started + self.timing.coalesce_s - time.monotonic()))
            await view.taken.wait()

    async def _pause_until_link(self, seconds: float) -> None:
        """Sleep up to ``seconds``, but wake when a new subscription is established."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._link_up.wait(), seconds)

    def _publish(self, view: LocationView, state: LocationState, held_before: int) -> None:
        loc = self.office.location_by_id[view.location]
        now = self.clock()
        snap = snapshot.snapshot(self.office, loc, state, now)
        view.snapshot, view.epoch, view.seq = snap, state.epoch, state.seq
        # Current, unless a change was held back while this state was being read.
        view.outdated = view.held != held_before
        view.frame = OutFrame.of(Frame.SNAPSHOT, orjson.dumps(snap))
        if view.frame_change_ts is None:
            view.frame_change_ts = view.change_ts
        view.change_ts = None
        view.taken.clear()
        view.unsent.set()
        self._overview_dirty.set()

    async def _send_loop(self, view: LocationView) -> None:
        """Offer each new snapshot of the location to its screens, in turns.

        At 5,000 screens a fan-out is ~50 ms of ``write()``. Done in one go, it would hold
        up every other location, and the next reload would only start after it, leaving
        the core idle while Redis answers. In turns, the reload runs meanwhile; snapshots
        that come during a fan-out wait for its end, and only the newest goes out next.
        """
        while True:
            await view.unsent.wait()
            view.unsent.clear()
            view.taken.set()
            frame = view.frame
            assert frame is not None  # _publish sets it before it sets ``unsent``
            if view.frame_change_ts is not None:
                lag = max(0.0, (to_ms(self.clock()) - view.frame_change_ts) / 1000)
                self.metrics.publish_to_send.observe(lag)
                view.frame_change_ts = None
            await _offer_in_turns(list(view.subscribers), frame)

    def on_doorbell(self, location: str, data: bytes | str) -> None:
        """A change was committed in Redis (or we may have missed some)."""
        view = self.views.get(location)
        if view is None:
            return
        try:
            bell = orjson.loads(data)
            epoch, seq, ts = str(bell["epoch"]), int(bell["seq"]), int(bell["ts"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            self._mark(view, "bad_doorbell")
            return
        if epoch == view.epoch and seq <= view.seq:
            return  # already shown (the reload it triggered read a newer state)
        self._mark(
            view, "change" if epoch == view.epoch and seq == view.seq + 1 else "gap", change_ts=ts
        )

    # --- pub/sub ----------------------------------------------------------------------------

    async def _listen(self) -> None:
        channels = {keys.channel(loc): loc for loc in self.views}
        backoff = 0.1
        while True:
            pubsub = self.store.reads.pubsub()
            try:
                await pubsub.subscribe(*channels)
                last_heard = last_ping = time.monotonic()
                while True:
                    msg = await pubsub.get_message(timeout=1.0)
                    now = time.monotonic()
                    if msg is not None:
                        last_heard = now
                        self._on_message(msg, channels)
                        backoff = 0.1
                    if now - last_ping >= self.timing.ping_s:
                        await pubsub.ping()
                        last_ping = now
                    if now - last_heard > self.timing.dead_after_s:
                        raise rx.ConnectionError("no answer on the pub/sub link")
            except asyncio.CancelledError:
                raise
            except (rx.RedisError, OSError) as e:
                if self.listening:
                    log.warning("pub/sub link lost; reconnecting", extra={"error": str(e)})
                    self.listening = False
                    self.metrics.hub_redis_up.set(0)
                    self._tell_stale()
                # Reconnecting to a Redis that is down is cheap; screens are back soon.
                await asyncio.sleep(backoff * (0.5 + random.random()))  # noqa: S311
                backoff = min(backoff * 2, 0.5)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    def _on_message(self, msg: dict[str, Any], channels: dict[str, str]) -> None:
        kind = msg["type"]
        channel = msg.get("channel")
        name = channel.decode() if isinstance(channel, bytes) else channel
        location = channels.get(name or "")
        if kind == "message" and location:
            self.on_doorbell(location, msg["data"])
        elif kind == "subscribe" and location:
            # (Re)subscribed: anything published while we were away is lost - reload.
            if not self.listening:
                log.info("pub/sub link up", extra={"channels": len(channels)})
                self._link_up.set()
                self._link_up = asyncio.Event()
            self.listening = True
            self.metrics.hub_redis_up.set(1)
            self._mark(self.views[location], "subscribed")

    # --- timers -----------------------------------------------------------------------------

    async def _ticker(self) -> None:
        t = self.timing
        last = dict.fromkeys(("drift", "refresh", "roll_day"), time.monotonic())
        tick = min(t.drift_check_s, t.refresh_s, t.roll_day_s, 1.0)
        while True:
            await asyncio.sleep(tick)
            now = time.monotonic()
            try:
                if now - last["roll_day"] >= t.roll_day_s:
                    last["roll_day"] = now
                    for location in self.views:
                        await self.store.roll_day(location)
                if now - last["drift"] >= t.drift_check_s:
                    last["drift"] = now
                    await self._check_drift()
                if now - last["refresh"] >= t.refresh_s:
                    last["refresh"] = now
                    for view in self.views.values():
                        self._mark(view, "refresh")
                self._check_hours()
            except (Unavailable, rx.RedisError, OSError):
                pass  # the refresh loops and the listener report and recover

    def _check_hours(self) -> None:
        """A location that opened or closed since its snapshot is reloaded now, not at the
        next refresh: a terminal must not offer a ticket for long after closing time, nor
        make people wait for its buttons after opening."""
        now = self.clock()
        for location, view in self.views.items():
            shown = view.snapshot
            loc = self.office.location_by_id[location]
            if view.outdated or view.dirty.is_set():
                continue  # a reload is on its way (or held until someone looks)
            if shown is not None and shown["open"] != snapshot.is_open(self.office, loc, now):
                self._mark(view, "hours")

    async def _check_drift(self) -> None:
        before = {loc: (v.epoch, v.seq) for loc, v in self.views.items()}
        seqs = await self.store.seqs(list(self.views))
        for location, read in seqs.items():
            view = self.views[location]
            reason = drift(read, (view.epoch, view.seq), before[location])
            if reason is not None:
                self._mark(view, reason)

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.timing.heartbeat_s)
            await self._heartbeat()

    async def _heartbeat(self) -> None:
        # Current views beat; the others say they are stale (the screens show a banner).
        # Beating 10,000 screens takes ~0.1 s of sending; a change waiting to be shown
        # gets its turn between locations and every TURN screens, instead of after
        # all of them. (A beat that goes out after a newer snapshot is harmless: screens
        # take a beat for a sign of life only.)
        for view in list(self.views.values()):
            if not view.subscribers:
                continue
            if self.is_current(view):
                frame = OutFrame.of(
                    Frame.HEARTBEAT,
                    orjson.dumps({"type": "heartbeat", "epoch": view.epoch, "seq": view.seq}),
                )
                await _offer_in_turns(list(view.subscribers), frame)
            else:
                self._tell_stale(view)
                await asyncio.sleep(0)
        if self.overview_subscribers and all(self.is_current(v) for v in self.views.values()):
            beat = OutFrame.of(Frame.HEARTBEAT, b'{"type":"heartbeat"}')
            await _offer_in_turns(list(self.overview_subscribers), beat)

    def _tell_stale(self, only: LocationView | None = None) -> None:
        frame = OutFrame.of(Frame.STALE, b'{"type":"stale"}')
        for view in [only] if only else list(self.views.values()):
            for sub in list(view.subscribers):
                sub.offer(frame)
        if only is None:
            for sub in list(self.overview_subscribers):
                sub.offer(frame)

    async def _overview_loop(self) -> None:
        while True:
            await self._overview_dirty.wait()
            self._overview_dirty.clear()
            snaps = [v.snapshot for v in self.views.values()]
            if any(s is None for s in snaps):
                continue  # complete overviews only; the missing ones are on their way
            self.overview_frame = OutFrame.of(
                Frame.SNAPSHOT,
                orjson.dumps(
                    {
                        "type": "locations",
                        "locations": [snapshot.summary(s) for s in snaps if s is not None],
                    }
                ),
            )
            for sub in list(self.overview_subscribers):
                sub.offer(self.overview_frame)
            await asyncio.sleep(self.timing.overview_coalesce_s)
