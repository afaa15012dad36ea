"""What waitboard sends out, wired for one server process: the outbound jobs' runner, Web
Push (:mod:`waitboard.services.push`), service-level alerts (:mod:`waitboard.services.
service_levels`) and, where an SMTP server is configured, appointment reminders
(:mod:`waitboard.services.reminders`), with their background loops."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from urllib.parse import urlsplit

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
from waitboard.services.service_levels import KIND as SERVICE_LEVEL_KIND
from waitboard.services.service_levels import ServiceLevels
from waitboard.settings import Settings
from waitboard.store.jobs import Jobs
from waitboard.store.office_store import Store
from waitboard.store.service_levels import ServiceLevelStore
from waitboard.tasks import supervise

log = logging.getLogger(__name__)

#: Stopping: how often the loops are cancelled, and how long each time is waited for.
STOP_ATTEMPTS, STOP_WAIT_S = 5, 1.0
#: Who push services may contact when the operator named nobody (development).
FALLBACK_CONTACT = "mailto:postmaster@localhost"


def vapid_contact(settings: Settings) -> str:
    """WAITBOARD_VAPID_CONTACT, else the public address's origin (push services take a bare
    https://host), else a placeholder for a developer's machine."""
    if settings.vapid_contact:
        return settings.vapid_contact
    public = urlsplit(settings.public_url or "")
    if public.scheme == "https" and public.hostname and public.port is None:
        return f"https://{public.hostname}"
    return FALLBACK_CONTACT


@dataclass
class Messaging:
    push: Push
    reminders: Reminders | None
    runner: JobRunner
    service_levels: ServiceLevels
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def start(self) -> None:
        self.tasks = [
            asyncio.create_task(supervise("outbound jobs", self.runner.run), name="jobs"),
            asyncio.create_task(supervise("push watch", self.push.watch), name="push.watch"),
        ]
        if self.service_levels.active:
            self.tasks.append(
                asyncio.create_task(
                    supervise("service levels", self.service_levels.watch), name="service_levels"
                )
            )

    async def stop(self) -> None:
        """Cancel the loops, again if need be: on Python 3.11 a cancel that meets a
        finishing ``wait_for`` (inside the Redis client's pool, say) can be lost, and the
        loop would poll on for ever."""
        for _ in range(STOP_ATTEMPTS):
            pending = [t for t in self.tasks if not t.done()]
            if not pending:
                break
            for task in pending:
                task.cancel()
            await asyncio.wait(pending, timeout=STOP_WAIT_S)
        for task in self.tasks:
            if task.done() and not task.cancelled():
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    task.result()


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
    )  # (its contact checked before the start: waitboard.app.check_production)
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
    runner.senders["push"] = PushSender(
        vapid, policy, push.forget, push.current, lambda: to_ms(clock()), resolver
    )
    reminders = Reminders.of(settings, jobs, store, office, clock)
    if reminders is not None:
        runner.senders["reminder"] = reminders.send
    levels = ServiceLevels(
        store, ServiceLevelStore(redis), office, jobs, runner.wake, settings.smtp
    )
    if settings.smtp is not None:
        runner.senders[SERVICE_LEVEL_KIND] = levels.send
    return Messaging(push, reminders, runner, levels)
