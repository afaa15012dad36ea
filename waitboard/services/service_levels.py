"""Service-level targets at work: where each queue stands (for the staff pages), and the
alert when a queue leaves its target (by e-mail and as a webhook event).

:func:`standings` reads a location's state, who waits since when and today's waits, and lets
:func:`waitboard.core.service_levels.assess` judge each queue with a target. The staff
pages call it on every render of their live part.

:meth:`ServiceLevels.watch` runs in every server process. Every :data:`LOOK_S` one process
(a short hold in Redis, :mod:`waitboard.store.service_levels`) looks at a location's queues
and moves each queue's episode on (:func:`waitboard.core.service_levels.step`). When a queue
leaves its target, the episode is opened and its ``service_level`` event put on the event
stream in one script (once, whoever looks: the webhooks deliver it), and one mail per
address of ``alerts.email`` is scheduled as an outbound job (:mod:`waitboard.store.jobs`)
whose id names the episode: a second look, another process or a crash adds no second one.
Nothing of an alert is about a person; what is logged is the location, the queue and the
state.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from collections.abc import Callable
from datetime import datetime

from waitboard.core import snapshot
from waitboard.core.clock import from_ms, to_ms
from waitboard.core.office import Location, Office
from waitboard.core.service_levels import (
    Action,
    Assessment,
    Standing,
    alert_fields,
    assess,
    step,
)
from waitboard.services import smtp
from waitboard.services.jobs import Gone, Outcome
from waitboard.services.service_level_mail import message, texts
from waitboard.settings import SmtpSettings
from waitboard.store.jobs import Job, Jobs
from waitboard.store.office_store import Store
from waitboard.store.service_levels import ServiceLevelStore

log = logging.getLogger(__name__)

#: How often a location's queues are looked at (by one process of all).
LOOK_S = 5.0
#: The kind of the alert mails' jobs.
KIND = "service_level"
#: After a failed hand-over, at least this long before the next try.
RETRY_AFTER_S = 120


async def standings(store: Store, office: Office, loc: Location) -> dict[str, Assessment]:
    """Each queue of ``loc`` with a target, judged against it now (in the office's order)."""
    targets = {q.id: t for q in loc.queues if (t := office.target_of(q)) is not None}
    if not targets:
        return {}
    now = store.clock()
    now_ms = to_ms(now)
    state = await store.location_state(loc.id)
    waiting = await store.waiting(loc.id)
    _, waits_today = await store.day_figures(loc.id, state.day) if state.day else ({}, {})
    fc = snapshot.forecast(loc, state, now, office.tz)
    out = {}
    for queue, target in targets.items():
        rows = waiting.get(queue, [])
        waited = [(now_ms - row.queued_at) / 1000 for row in rows]
        ahead = [fc.raw(queue, position) for position in range(1, len(rows) + 2)]
        out[queue] = assess(target, waited, ahead, waits_today.get(queue, []))
    return out


class ServiceLevels:
    """Watches the queues' targets and sends the alerts of one office."""

    def __init__(
        self,
        store: Store,
        levels: ServiceLevelStore,
        office: Office,
        jobs: Jobs,
        wake: Callable[[], None],
        server: SmtpSettings | None,
    ) -> None:
        self.store, self.levels, self.office, self.jobs = store, levels, office, jobs
        self.wake = wake
        self.server = server
        self._said_no_smtp = False

    @property
    def active(self) -> bool:
        return any(self.office.target_of(q) for loc in self.office.locations for q in loc.queues)

    async def watch(self) -> None:
        """For ever (under :func:`waitboard.tasks.supervise`): one look per location every
        LOOK_S, by whichever process takes the location's hold first."""
        token = secrets.token_hex(8)
        hold_ms = int(LOOK_S * 1000) - 100
        while True:
            for loc in self.office.locations:
                if await self.levels.hold(loc.id, token, hold_ms):
                    await self.look(loc)
            await asyncio.sleep(LOOK_S)

    async def look(self, loc: Location) -> int:
        """Move each queue's episode on; how many alerts this look opened."""
        found = await standings(self.store, self.office, loc)
        if not found:
            return 0
        now_ms = to_ms(self.store.clock())
        calm_ms = self.office.alerts.calm_minutes * 60_000
        episodes = await self.levels.episodes(loc.id, list(found))
        opened = 0
        for queue, a in found.items():
            episode, mailed = episodes[queue]
            action = step(episode, a.state, now_ms, calm_ms)
            if action is Action.OPEN:
                new, at = await self.levels.open(loc.id, queue, now_ms, alert_fields(queue, a))
                if new:
                    opened += 1
                    log.warning(
                        "queue left its service-level target",
                        extra={
                            "location": loc.id,
                            "queue": queue,
                            "state": a.state.value,
                            "why": a.why(),
                        },
                    )
                    await self._mail(loc, queue, a, at)
            elif action is Action.CALM:
                await self.levels.calm(loc.id, queue, now_ms)
            elif action is Action.STORM:
                await self.levels.storm(loc.id, queue)
            elif action is Action.CLOSE:
                await self.levels.close(loc.id, queue)
            elif episode.opened_ms is not None and not mailed and a.state is not Standing.WITHIN:
                await self._mail(loc, queue, a, episode.opened_ms)  # (owed: a look failed)
        return opened

    async def _mail(self, loc: Location, queue: str, a: Assessment, opened_ms: int) -> None:
        """Schedule the episode's mail to every address (a job per address, its id naming
        the episode), then note that it is scheduled."""
        addresses = self.office.alerts.email
        if not addresses:
            return
        if self.server is None:
            if not self._said_no_smtp:
                log.warning("service-level alerts are not mailed: WAITBOARD_SMTP_URL is not set")
                self._said_no_smtp = True
            return
        body = {"location": loc.id, **alert_fields(queue, a), "opened": opened_ms}
        for address in addresses:
            digest = hashlib.sha256(address.encode()).hexdigest()[:16]
            job_id = f"sla.{loc.id}.{queue}.{opened_ms}.{digest}"
            await self.jobs.add(job_id, KIND, {**body, "to": address}, opened_ms)
        await self.levels.mailed(loc.id, queue)
        self.wake()

    async def send(self, job: Job) -> Outcome:
        """The sender of kind ``service_level`` (for the job runner)."""
        loc = self.office.location_by_id.get(str(job.body.get("location")))
        queue = loc.queue_by_id.get(str(job.body.get("queue"))) if loc else None
        to = str(job.body.get("to", ""))
        if loc is None or queue is None or self.server is None:
            return Gone("the location or queue is no longer configured")
        if to not in self.office.alerts.email:
            return Gone("the address is no longer configured")
        at: datetime = from_ms(int(job.body["opened"]), self.office.tz)
        subject, paragraphs = texts(job.body, loc.name, queue.name, at)
        mail = message(
            subject,
            paragraphs,
            to=to,
            mail_from=self.server.mail_from,
            sent_at=self.store.clock(),
            job_id=job.id,
        )
        return await smtp.send_job(
            self.server,
            mail,
            to,
            what="service-level alert",
            log=log,
            retry_after_s=RETRY_AFTER_S,
            attempt=job.attempt,
            context={"location": loc.id, "queue": queue.id},
        )
