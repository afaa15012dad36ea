"""What waitboard sends out, wired for one server process: the outbound jobs' runner, Web
Push (:mod:`waitboard.services.push`) and, where an SMTP server is configured, appointment
reminders (:mod:`waitboard.services.reminders`), with their background loops."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from redis.asyncio import Redis

from waitboard.core.clock import Clock, to_ms
from waitboard.core.office import Office
from waitboard.core.outbound import OutboundPolicy
from waitboard.metrics import Metrics
from waitboard.services import outbound
from waitboard.services.jobs import JobRunner
from waitboard.services.push import Push
from waitboard.services.push_keys import PushKeys
from waitboard.services.push_sender import PushSender
from waitboard.services.reminders import Reminders
from waitboard.settings import Settings
from waitboard.store.jobs import Jobs
from waitboard.store.office_store import Store
from waitboard.tasks import supervise

log = logging.getLogger(__name__)

#: Who push services may contact when the operator named nobody (development).
FALLBACK_CONTACT = "mailto:postmaster@localhost"


def vapid_contact(settings: Settings) -> str:
    if settings.vapid_contact:
        return settings.vapid_contact
    if settings.public_url and settings.public_url.startswith("https://"):
        return settings.public_url
    return FALLBACK_CONTACT


@dataclass
class Messaging:
    push: Push
    reminders: Reminders | None
    runner: JobRunner
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def start(self) -> None:
        self.tasks = [
            asyncio.create_task(supervise("outbound jobs", self.runner.run)),
            asyncio.create_task(supervise("push watch", self.push.watch)),
        ]

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def messaging(
    settings: Settings,
    office: Office,
    store: Store,
    redis: Redis,
    clock: Clock,
    metrics: Metrics,
    resolver: outbound.Resolver = outbound.resolve,
) -> Messaging:
    jobs = Jobs(redis)
    vapid = PushKeys.load(
        settings.vapid_private_key_file, settings.data_dir, vapid_contact(settings)
    )
    policy = OutboundPolicy(allow_loopback=settings.push_allow_loopback, label="push endpoint")
    runner = JobRunner(
        jobs,
        {},  # (each kind's sender below)
        now_ms=lambda: to_ms(clock()),
        on_outcome=lambda kind, outcome: metrics.outbound.labels(kind, outcome).inc(),
    )
    push = Push(
        store,
        redis,
        office,
        jobs,
        runner.wake,
        vapid,
        secret_key=settings.secret_key,
        public_url=settings.public_url,
        policy=policy,
        resolver=resolver,
    )
    runner.senders["push"] = PushSender(vapid, policy, push.forget, resolver)
    reminders = Reminders.of(settings, jobs, store, office, clock)
    if reminders is not None:
        runner.senders["reminder"] = reminders.send
    return Messaging(push, reminders, runner)
