"""The hub: Redis pub/sub -> one cached view per location -> every connected screen.

This is the I/O around :class:`waitboard.live.view.View`, which makes every decision
(when to reload, what to send to whom, when a view is stale). The hub listens on Redis,
runs the loads and fan-outs it asks for, keeps its timers, and encodes each message for
the wire once (:mod:`waitboard.live.wire`).

Guarantees (of the I/O; the view states its own)
  * Reloading and sending overlap: a location's screens get its newest snapshot in turns
    of TURN screens, and the next load runs meanwhile, so a fan-out to thousands never
    waits for Redis, and no location's fan-out holds up the others.
  * Fan-out never waits on a client: :meth:`Subscriber.offer` must not block. Slow clients
    are the subscriber's business (see :mod:`waitboard.live.endpoints`).
  * Redis back: the subscription returns within a second, every view reloads at once.
  * No loop dies silently: each is supervised, logs what went wrong and starts again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import weakref
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any, Protocol

from redis import exceptions as rx

from waitboard.core.clock import Clock
from waitboard.core.errors import Unavailable
from waitboard.core.office import Office
from waitboard.live.actions import Action, CheckSeqs, FanOut, Load, Message, Offer
from waitboard.live.location import LocationView
from waitboard.live.timing import HubTiming
from waitboard.live.view import View
from waitboard.live.wire import OutFrame
from waitboard.metrics import Metrics
from waitboard.store import keys
from waitboard.store.office_store import Store
from waitboard.tasks import supervise

__all__ = ["TURN", "Hub", "HubTiming", "Subscriber"]

log = logging.getLogger(__name__)


class Subscriber(Protocol):
    def offer(self, frame: OutFrame) -> None:
        """Take a frame to send; must return at once, never block or raise."""


#: Screens sent to in one go before other work gets a turn (~5 ms of sending).
TURN = 500

#: How many times (a second apart) stop() cancels a loop that has not ended.
STOP_ROUNDS = 5


async def _offer_in_turns(subscribers: Iterable[Subscriber], frame: OutFrame) -> None:
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
        self.timing = timing or HubTiming()
        self.view: View[Subscriber] = View(office, self.timing, clock, metrics)
        self._frames: weakref.WeakKeyDictionary[Message, OutFrame] = weakref.WeakKeyDictionary()
        self._loops: list[asyncio.Task[None]] = []
        self._work: set[asyncio.Task[None]] = set()  # loads and fan-outs under way
        self._wake = asyncio.Event()  # a decision may wait for another time now
        self._stopping = False  # no new loads or fan-outs (a cancelled one ends with sent())

    @property
    def views(self) -> dict[str, LocationView[Subscriber]]:
        return self.view.views

    @property
    def listening(self) -> bool:
        return self.view.listening

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Start in the background; Redis may still be down (the hub keeps trying)."""
        loops: list[tuple[str, Callable[[], Awaitable[None]]]] = [
            ("listen", self._listen),
            ("ticker", self._ticker),
            ("heartbeat", self._heartbeat_loop),
            ("timers", self._timers),
        ]
        self._loops = [
            asyncio.create_task(supervise(name, loop), name=f"hub.{name}") for name, loop in loops
        ]
        self._after(self.view.start())

    async def stop(self) -> None:
        """Cancel every loop and wait until they end, for at most STOP_ROUNDS seconds.

        A loop may lose its cancellation inside a library (on Python 3.11 a cancellation
        that meets an expiring ``asyncio.timeout`` can come out as a TimeoutError, which
        the loop then handles as Redis being slow): such a loop is cancelled again.
        """
        self._stopping = True
        tasks = [*self._loops, *self._work]
        pending = set(tasks)
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
        for task in tasks:
            if task.done() and not task.cancelled():
                task.exception()  # retrieved: it was logged where it happened
        self._loops = []

    def is_current(self, view: LocationView[Subscriber]) -> bool:
        """The view shows the state in Redis, give or take the coalescing window."""
        return self.view.is_current(view)

    # --- subscribers ------------------------------------------------------------------------

    def subscribe(self, location: str, sub: Subscriber) -> None:
        self._after(self.view.join(location, sub))

    def unsubscribe(self, location: str, sub: Subscriber) -> None:
        self.view.leave(location, sub)

    def subscribe_overview(self, sub: Subscriber) -> None:
        self._after(self.view.join_overview(sub))

    def unsubscribe_overview(self, sub: Subscriber) -> None:
        self.view.leave_overview(sub)

    async def snapshot(self, location: str) -> dict[str, Any]:
        """The location's snapshot for a public read: from the cache while the view is
        current (no Redis round trip per visitor), else read from Redis now."""
        cached = self.view.cached(location)
        if cached is not None:
            return cached
        held = self.views[location].held
        state = await self.store.location_state(location)
        snap, actions = self.view.read(location, state, held)
        self._after(actions)
        return snap

    def on_doorbell(self, location: str, data: bytes | str) -> None:
        """A change was committed in Redis (or we may have missed some)."""
        self._after(self.view.doorbell(location, data))

    # --- carrying out the view's actions ------------------------------------------------

    def _frame(self, message: Message) -> OutFrame:
        """The message as sent, encoded once however many screens get it."""
        frame = self._frames.get(message)
        if frame is None:
            frame = self._frames[message] = OutFrame.of(message)
        return frame

    def _after(self, actions: list[Action[Subscriber]]) -> None:
        """Carry out what an event set going, and let the timers look again."""
        self._do(actions)
        self._wake.set()

    def _do(self, actions: list[Action[Subscriber]]) -> None:
        for action in actions:
            if isinstance(action, Offer):
                frame = self._frame(action.message)
                for sub in action.screens:
                    sub.offer(frame)
            elif isinstance(action, FanOut):
                self._spawn(self._fan_out(action), f"hub.send.{action.location}")
            elif isinstance(action, Load):
                self._spawn(self._load(action.location), f"hub.load.{action.location}")
            elif isinstance(action, CheckSeqs):
                self._spawn(self._check_seqs(action), "hub.check_seqs")

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        if self._stopping:
            work.close()
            return
        task = asyncio.create_task(work, name=name)
        self._work.add(task)
        task.add_done_callback(self._work.discard)

    async def _load(self, location: str) -> None:
        try:
            state = await self.store.location_state(location)
        except Exception as e:
            if not isinstance(e, Unavailable | rx.RedisError | OSError):
                log.exception("reloading a location failed", extra={"location": location})
            self._after(self.view.load_failed(location))
            return
        self._after(self.view.loaded(location, state))

    async def _fan_out(self, action: FanOut[Subscriber]) -> None:
        """Offer a snapshot to the location's screens, in turns.

        At 5,000 screens a fan-out is ~50 ms of ``write()``. Done in one go, it would hold
        up every other location, and the next load would only start after it, leaving the
        core idle while Redis answers. In turns, the load runs meanwhile.
        """
        try:
            await _offer_in_turns(action.screens, self._frame(action.message))
        finally:
            self._after(self.view.sent(action.location))

    async def _check_seqs(self, action: CheckSeqs) -> None:
        with contextlib.suppress(Unavailable, rx.RedisError, OSError):
            # (else the loads and the listener report and recover)
            read = await self.store.seqs(list(self.views))
            self._after(self.view.seqs_read(read, action.before))

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
                    self._after(self.view.link_lost())
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
            if not self.listening:
                log.info("pub/sub link up", extra={"channels": len(channels)})
            self._after(self.view.subscribed(location))

    # --- timers -----------------------------------------------------------------------------

    async def _timers(self) -> None:
        """Ask the view again whenever a decision of it waits for a time that has come."""
        while True:
            self._wake.clear()
            self._do(self.view.poll())
            wake = self.view.next_wake()
            timeout = None if wake is None else max(0.0, wake - time.monotonic())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    async def _ticker(self) -> None:
        t = self.timing
        tick = min(t.drift_check_s, t.refresh_s, 1.0)
        while True:
            await asyncio.sleep(tick)
            self._after(self.view.tick())

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.timing.heartbeat_s)
            # Beating 10,000 screens takes ~0.1 s of sending; a change waiting to be shown
            # gets its turn between locations and every TURN screens, instead of after all
            # of them. (A beat that goes out after a newer snapshot is harmless: screens
            # take a beat for a sign of life only.)
            for offer in self.view.beat():
                await _offer_in_turns(offer.screens, self._frame(offer.message))
