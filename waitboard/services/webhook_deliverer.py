"""One webhook's deliverer for one location: every event, in order, at least once.

Guarantees (docs/webhooks.md says them to the receiving side):

* **One at a time.** A deliverer works only while it holds the lease of its webhook and
  location in Redis; every server process runs one deliverer per pair, and all but one
  wait. The lease is renewed while the work goes on (also during a slow request) and
  given up on shutdown; a process that dies keeps it until its TTL runs out, then another
  process's deliverer takes it and goes on.
* **In order, none skipped, at least once.** The cursor in Redis moves past a message only
  after the receiver took it (2xx), or rejected it for good (a 4xx that is not retried:
  logged and counted). Until then the same message - the same ``webhook-id`` - is sent
  again with a growing pause (:func:`~waitboard.core.webhook_delivery.backoff_s`); the next
  one waits. A deliverer that took over sends the message its predecessor may have sent
  already: receivers drop duplicates by ``webhook-id``.
* **A gap is said.** When the location's stream was trimmed past the cursor (the receiver
  was down for days), a ``gap`` message goes first.

Nothing of a message, its signature, the URL or the secret is logged: the webhook's id,
the location, the message's id and type, the status and the outcome are.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

import orjson

from waitboard.core.errors import Unavailable
from waitboard.core.outbound import OutboundFailed, OutboundRefused, OutboundTimeout
from waitboard.core.retries import retry_after_s
from waitboard.core.webhook_delivery import (
    Cursor,
    EntryId,
    Verdict,
    backoff_s,
    trimmed_past,
    verdict,
)
from waitboard.core.webhook_signature import sign
from waitboard.core.webhooks import Webhook, event_message, gap_message
from waitboard.metrics import Metrics
from waitboard.services.outbound import Resolver, post, resolve
from waitboard.store.webhooks import Entry, WebhookStore

log = logging.getLogger(__name__)

#: The largest message body (a message is a few hundred bytes).
MAX_BODY = 16 * 1024


@dataclass(frozen=True)
class WebhookTiming:
    """``lease_s``: the lease's TTL, how long a dead process's work waits for another;
    ``renew_s``: how often the holder renews it and the others try to take it;
    ``block_ms``: how long one read waits for a new event; ``timeout_s``: one request's
    deadline; ``retry_scale``: the back-off's scale (1: 1 s to 5 min; tests go faster)."""

    lease_s: float = 30.0
    renew_s: float = 10.0
    block_ms: int = 1000
    timeout_s: float = 5.0
    retry_scale: float = 1.0
    batch: int = 100


class LeaseLost(Exception):
    """Another deliverer holds the lease now (this one stalled longer than its TTL)."""


def _stop_if_cancelled() -> None:
    """After each call to Redis or the receiver, and where a failure is caught and the loop
    goes on: a cancellation that a library swallowed (redis-py 8's asyncio client returns
    normally from a command cancelled mid-flight more often than not) or turned into an
    error of its own must still end the task, or it would loop on, never to be cancelled
    again - and the app's shutdown would wait for it for ever."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class Deliverer:
    """Delivers one location's events to one webhook; :meth:`run` until cancelled."""

    def __init__(
        self,
        store: WebhookStore,
        hook: Webhook,
        key: bytes,
        location: str,
        tz: tzinfo,
        metrics: Metrics,
        *,
        allow_loopback: bool = False,
        timing: WebhookTiming | None = None,
        resolver: Resolver = resolve,
    ) -> None:
        self.store = store
        self.hook = hook
        self.key = key
        self.location = location
        self.tz = tz
        self.metrics = metrics
        self.policy = hook.policy(allow_loopback=allow_loopback)
        self.timing = timing or WebhookTiming()
        self.resolver = resolver
        # One token for this deliverer's life: restarted after a failure, it takes its own
        # lease back at once instead of waiting for it to run out.
        self.token = secrets.token_urlsafe(18)
        self._where = {"webhook": hook.id, "location": location}

    async def run(self) -> None:
        """Wait for the lease, deliver while holding it, again; give it up when cancelled."""
        lease_ms = int(self.timing.lease_s * 1000)
        try:
            while True:
                try:
                    held = await self.store.hold(self.location, self.hook.id, self.token, lease_ms)
                    _stop_if_cancelled()
                    if held:
                        await self._while_holding()
                except Unavailable:
                    _stop_if_cancelled()
                    log.warning("webhook delivery waits for redis", extra=self._where)
                except LeaseLost:
                    _stop_if_cancelled()
                    log.warning("webhook lease lost to another process", extra=self._where)
                await asyncio.sleep(self.timing.renew_s)
        finally:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                async with asyncio.timeout(2.0):
                    await self.store.release(self.location, self.hook.id, self.token)

    async def _while_holding(self) -> None:
        """Deliver, and renew the lease beside it; either ending ends both."""
        work = asyncio.create_task(self._deliver())
        renewal = asyncio.create_task(self._renew())
        try:
            done, _ = await asyncio.wait({work, renewal}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (work, renewal):
                task.cancel()
            await asyncio.gather(work, renewal, return_exceptions=True)
        for task in done:
            task.result()  # its exception, if it ended with one

    async def _renew(self) -> None:
        """Renew the lease every ``renew_s``; LeaseLost when another holds it, or when it
        could not be renewed for most of its TTL (Redis unreachable): by then another
        process may take it, and two must not send side by side."""
        lease_ms = int(self.timing.lease_s * 1000)
        renewed = time.monotonic()
        while True:
            await asyncio.sleep(self.timing.renew_s)
            try:
                held = await self.store.hold(self.location, self.hook.id, self.token, lease_ms)
            except Unavailable:
                _stop_if_cancelled()
                if time.monotonic() - renewed > 0.8 * self.timing.lease_s:
                    raise LeaseLost from None
                continue
            _stop_if_cancelled()
            if not held:
                raise LeaseLost
            renewed = time.monotonic()

    async def _deliver(self) -> None:
        cursor = await self.store.cursor(self.location, self.hook.id, self.token)
        _stop_if_cancelled()
        if cursor is None:
            raise LeaseLost
        log.info("webhook delivery started", extra={**self._where, "after": cursor.after})
        while True:
            entries = await self.store.after(
                self.location, cursor.after, self.timing.batch, self.timing.block_ms
            )
            _stop_if_cancelled()
            if entries:
                cursor = await self._gap_first(cursor)
                cursor = await self._batch(cursor, entries)

    async def _gap_first(self, cursor: Cursor) -> Cursor:
        """When the stream was trimmed past the cursor: the ``gap`` message, and the cursor
        right before the oldest entry left."""
        first = await self.store.first(self.location)
        _stop_if_cancelled()
        if first is None or not trimmed_past(cursor, first.id, first.seq):
            return cursor
        self.metrics.webhook_gaps.labels(self.hook.id).inc()
        log.warning("webhook messages may be missing: events trimmed", extra=self._where)
        now = datetime.now(UTC).astimezone(self.tz)
        await self._send(gap_message(self.location, cursor.after, cursor.seq, first.seq, now))
        moved = Cursor(str(EntryId.parse(first.id).before()), (first.seq or 1) - 1)
        await self._advance(moved)
        return moved

    async def _batch(self, cursor: Cursor, entries: list[Entry]) -> Cursor:
        """Each entry after the cursor in turn: sent (when the webhook wants its type) until
        it is taken or rejected; the cursor stored after each one sent, and once at the end
        for those passed over."""
        stored = cursor
        for entry in entries:
            if EntryId.parse(entry.id) <= EntryId.parse(cursor.after):
                continue  # (already behind the cursor: a gap moved it)
            if self.hook.wants(entry.fields.get("type", "")):
                await self._send(event_message(self.location, entry.id, entry.fields, self.tz))
                cursor = Cursor(entry.id, entry.seq or cursor.seq)
                await self._advance(cursor)
                stored = cursor
            else:
                cursor = Cursor(entry.id, entry.seq or cursor.seq)
        if cursor != stored:
            await self._advance(cursor)
        return cursor

    async def _advance(self, cursor: Cursor) -> None:
        advanced = await self.store.advance(self.location, self.hook.id, self.token, cursor)
        _stop_if_cancelled()
        if not advanced:
            raise LeaseLost

    async def _send(self, message: dict[str, Any]) -> None:
        """Send one message until the receiver takes it or rejects it for good."""
        body = orjson.dumps(message)
        failures = 0
        where = {**self._where, "message_id": message["id"], "event": message["type"]}
        while True:
            outcome, wait_at_least = await self._attempt(message["id"], body, where)
            _stop_if_cancelled()
            self.metrics.webhook_deliveries.labels(self.hook.id, outcome).inc()
            if outcome in ("delivered", "rejected"):
                return
            failures += 1
            pause = backoff_s(failures, wait_at_least, random.random())  # noqa: S311
            await asyncio.sleep(pause * self.timing.retry_scale)

    async def _attempt(
        self, message_id: str, body: bytes, where: dict[str, Any]
    ) -> tuple[str, float | None]:
        """One request: its outcome (``delivered``, ``rejected``, ``retried``, ``timeout``,
        ``unreachable``, ``refused``) and the receiver's Retry-After in seconds."""
        headers = {
            "content-type": "application/json",
            "user-agent": "waitboard-webhooks",
            **sign(self.key, message_id, int(time.time()), body),
        }
        try:
            answer = await post(
                self.policy,
                self.hook.url,
                body,
                headers,
                resolver=self.resolver,
                timeout_s=self.timing.timeout_s,
                max_body=MAX_BODY,
            )
        except OutboundRefused as e:
            log.warning("webhook address refused", extra={**where, "reason": e.reason})
            return "refused", None
        except OutboundTimeout:
            log.warning("webhook receiver did not answer in time", extra=where)
            return "timeout", None
        except OutboundFailed:
            log.warning("webhook receiver not reachable", extra=where)
            return "unreachable", None
        seen = verdict(answer.status)
        extra = {**where, "status": answer.status}
        if seen is Verdict.DELIVERED:
            log.debug("webhook message delivered", extra=extra)
            return "delivered", None
        if seen is Verdict.REJECTED:
            log.warning("webhook message rejected by the receiver; skipped", extra=extra)
            return "rejected", None
        log.warning("webhook receiver failed; sending again later", extra=extra)
        return "retried", retry_after_s(answer.retry_after, datetime.now(UTC))
