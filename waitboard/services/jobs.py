"""Sends the outbound jobs (:mod:`waitboard.store.jobs`) in every server process.

Each process looks at the schedule a few times a second (and at once when it added a job
itself), claims what is due and hands each job to the sender of its kind. A sender answers
what became of it: sent, gone for good (the subscription expired, the address is refused),
or to be tried again (the receiver is busy or down: after the back-off of
:mod:`waitboard.core.retries`, at least its Retry-After). A sender that fails with an
error of its own is treated as "try again"; after :data:`~waitboard.core.retries.
MAX_ATTEMPTS` the job is given up and counted. Nothing of a job's body is logged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from waitboard.core.retries import next_try_s
from waitboard.store.jobs import Job, Jobs

log = logging.getLogger(__name__)

#: How long a claimed job is held before another process may take it (longer than any
#: one attempt, which the outbound requests' own timeouts bound).
LEASE_MS = 60_000
#: How often the schedule is looked at when nothing woke the loop.
POLL_S = 0.5
#: Jobs claimed at once, and sent side by side.
BATCH = 32


@dataclass(frozen=True, slots=True)
class Sent:
    """The receiver took it."""


@dataclass(frozen=True, slots=True)
class Gone:
    """Never to be sent: the receiver said it is gone, or the address is refused."""

    reason: str


@dataclass(frozen=True, slots=True)
class Later:
    """Try again (the receiver was busy or down), at least after its Retry-After."""

    retry_after: str | None = None


Outcome = Sent | Gone | Later
Sender = Callable[[Job], Awaitable[Outcome]]


def _wall_ms() -> int:
    return int(time.time() * 1000)


class JobRunner:
    """Claims due jobs and sends them with ``senders`` (by kind)."""

    def __init__(
        self,
        jobs: Jobs,
        senders: Mapping[str, Sender],
        *,
        now_ms: Callable[[], int] = _wall_ms,
        on_outcome: Callable[[str, str], None] | None = None,
    ) -> None:
        self.jobs = jobs
        self.senders = dict(senders)
        self.now_ms = now_ms
        self.on_outcome = on_outcome or (lambda kind, outcome: None)
        self._woken = asyncio.Event()

    def wake(self) -> None:
        """A job was just added: look now rather than at the next poll."""
        self._woken.set()

    async def run(self) -> None:
        """For ever (run it under :func:`waitboard.tasks.supervise`)."""
        while True:
            self._woken.clear()
            claimed = await self.run_once()
            if claimed < BATCH:
                try:
                    async with asyncio.timeout(POLL_S):
                        await self._woken.wait()
                except TimeoutError:
                    # Python 3.11: a cancel that meets the timeout comes out as this
                    # TimeoutError; it must still end the loop.
                    task = asyncio.current_task()
                    if task is not None and task.cancelling():
                        raise asyncio.CancelledError from None

    async def run_once(self) -> int:
        """Claim what is due and send it; how many jobs were claimed."""
        claimed = await self.jobs.claim(self.now_ms(), LEASE_MS, BATCH)
        if claimed:
            results = await asyncio.gather(
                *(self._send(job) for job in claimed), return_exceptions=True
            )
            for job, result in zip(claimed, results, strict=True):
                if isinstance(result, asyncio.CancelledError):
                    raise result
                if isinstance(result, Exception):
                    # (Redis away, say: the job is due again when its lease ends.)
                    log.warning(
                        "an outbound job could not be settled",
                        extra={"kind": job.kind, "error": type(result).__name__},
                    )
        return len(claimed)

    async def _send(self, job: Job) -> None:
        sender = self.senders.get(job.kind)
        outcome: Outcome
        if sender is None:
            # Another process may have what this one lacks (an SMTP server, say): left
            # for it, and given up like any other job when nobody sends it.
            outcome = Later()
        else:
            try:
                outcome = await sender(job)
            except asyncio.CancelledError:
                raise  # (the lease ends; another process sends it)
            except Exception:
                log.exception("an outbound job failed", extra={"kind": job.kind})
                outcome = Later()
        if isinstance(outcome, Later):
            now = datetime.fromtimestamp(self.now_ms() / 1000, UTC)
            wait_s = next_try_s(job.attempt, outcome.retry_after, now)
            if wait_s is not None:
                await self.jobs.later(job.id, self.now_ms() + int(wait_s * 1000))
                self.on_outcome(job.kind, "retry")
                return
            log.warning(
                "an outbound message was given up after its attempts",
                extra={"kind": job.kind, "attempts": job.attempt},
            )
            self.on_outcome(job.kind, "given_up")
        elif isinstance(outcome, Gone):
            self.on_outcome(job.kind, "gone")
        else:
            self.on_outcome(job.kind, "sent")
        await self.jobs.finish(job.id)
