"""Web Push for tickets: subscribing, and telling each subscription what changed.

A subscription is checked when it is made - the keys (a P-256 point, a 16-byte secret), the
endpoint by :mod:`waitboard.services.outbound` (https, public addresses only) - and the
ticket must still wait. From then on, :meth:`Push.watch` runs in every server process: when
a location's state moved on (its ``seq``), one process at a time (a short lock in Redis)
compares each subscribed ticket with what its subscriptions were told
(:func:`waitboard.core.push.notices`) and schedules a job per message
(:mod:`waitboard.store.jobs`). A job's id names the subscription and the change, so a
second look - by another process, after a crash - adds nothing. The jobs are sent by
:class:`waitboard.services.push_sender.PushSender`.

The texts are written here, in the language the page had when the person subscribed.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from waitboard.core.application_pins import keyed_digest
from waitboard.core.domain import TicketStatus
from waitboard.core.errors import Conflict, NoSuchTicket, Unavailable
from waitboard.core.office import Office
from waitboard.core.outbound import OutboundPolicy
from waitboard.core.push import TTL_S, URGENCY, Notice, Subscription, check_keys, notices
from waitboard.i18n import Translator
from waitboard.services import outbound
from waitboard.services.push_keys import PushKeys
from waitboard.store import keys
from waitboard.store.jobs import Jobs
from waitboard.store.office_store import Store
from waitboard.store.push import PushSubscriptions
from waitboard.store.tickets import location_of_ticket

log = logging.getLogger(__name__)

#: How often each process looks whether a location changed.
POLL_S = 0.5
#: Every location is compared this often even when nothing seemed to change (a missed
#: look, a subscription whose ticket expired).
SWEEP_S = 60.0
#: How long the state a location was last compared at is kept (a day without changes).
COMPARED_TTL_S = 24 * 3600
#: Browsers that may follow one ticket (a family's phones; not a crowd's).
MAX_PER_TICKET = 5
#: How long one process holds a location's comparison before another may take it.
LOCK_MS = 10_000


class TicketNotWaiting(Conflict):
    code = "ticket_not_waiting"
    title = "Ticket no longer waiting"


class TooManySubscriptions(Conflict):
    code = "too_many_subscriptions"
    title = "Too many subscriptions"


@dataclass(frozen=True, slots=True)
class SubscribeRequest:
    endpoint: str
    p256dh: str
    auth: str
    ahead: int | None
    lang: str


class Push:
    def __init__(
        self,
        store: Store,
        redis: Redis,
        office: Office,
        jobs: Jobs,
        wake: Callable[[], None],
        vapid: PushKeys,
        *,
        secret_key: str,
        public_url: str | None,
        policy: OutboundPolicy,
        resolver: outbound.Resolver = outbound.resolve,
    ) -> None:
        self.store, self.redis, self.office, self.jobs = store, redis, office, jobs
        self.subscriptions = PushSubscriptions(redis)
        self.wake = wake
        self.vapid = vapid
        self.secret_key = secret_key
        self.public_url = public_url
        self.policy = policy
        self.resolver = resolver

    # --- subscribing ------------------------------------------------------------------------

    async def subscribe(self, ticket_id: str, req: SubscribeRequest, base_url: str) -> str:
        """The subscription's id (the same browser's endpoint again: the same id, replaced).
        NotFound, :class:`TicketNotWaiting`, or Unprocessable (keys, endpoint, ``ahead``)."""
        location = self._location(ticket_id)
        record, _, _ = await self.store.ticket(ticket_id)
        if record.status is not TicketStatus.WAITING:
            raise TicketNotWaiting(
                f"Ticket {record.number} is no longer waiting ({record.status.value}): there "
                "is nothing left to tell about it."
            )
        check_keys(req.p256dh, req.auth)
        async with asyncio.timeout(outbound.TIMEOUT_S):  # (a name that never resolves)
            await outbound.check(self.policy, req.endpoint, resolver=self.resolver)
        sub_id = self._subscription_id(ticket_id, req.endpoint)
        before = await self.subscriptions.get(location, ticket_id, sub_id)
        loc = self.office.location_by_id[location]
        url = f"{(self.public_url or base_url).rstrip('/')}/tickets/{ticket_id}"
        sub = Subscription(
            id=sub_id,
            ticket_id=ticket_id,
            endpoint=req.endpoint,
            p256dh=req.p256dh,
            auth=req.auth,
            ahead=req.ahead or loc.notify_ahead,
            lang=req.lang,
            url=url if req.lang == "de" else f"{url}?lang={req.lang}",
            # The same subscription again keeps what it was told: "soon" stays once.
            told_soon=before.told_soon if before else False,
            told_called_at=before.told_called_at if before else None,
            told_recall=before.told_recall if before else 0,
            told_transfers=before.told_transfers if before else record.transfers,
        )
        if not await self.subscriptions.save(location, sub, MAX_PER_TICKET):
            raise TooManySubscriptions(
                f"Ticket {record.number} already has {MAX_PER_TICKET} subscriptions; end one "
                "on another device first."
            )
        try:
            await self.compare_ticket(location, ticket_id)  # already within reach: at once
            self.wake()
        except Exception:
            # Saved: the next look at the location tells it.
            log.warning("a new push subscription was not compared at once", exc_info=True)
        return sub_id

    async def unsubscribe(self, ticket_id: str, sub_id: str) -> bool:
        location = self._location(ticket_id)
        return await self.subscriptions.delete(location, ticket_id, sub_id)

    async def forget(self, location: str, ticket_id: str, sub_id: str) -> None:
        """The push service said the subscription is gone."""
        await self.subscriptions.delete(location, ticket_id, sub_id)

    def _location(self, ticket_id: str) -> str:
        location = location_of_ticket(ticket_id)
        if location not in self.office.location_by_id:
            raise NoSuchTicket(ticket_id)
        assert location is not None
        return location

    def _subscription_id(self, ticket_id: str, endpoint: str) -> str:
        """The same for the same browser's endpoint and ticket (so a repeat replaces it),
        and no string a stranger could derive without the server's key."""
        return keyed_digest(self.secret_key, "push", f"{ticket_id}\n{endpoint}")[:32]

    # --- telling ----------------------------------------------------------------------------

    async def compare(self, location: str) -> int:
        """Schedule what each subscription of the location is to be told; how many
        messages were scheduled. A ticket that fails is left for the next look."""
        added = 0
        for ticket_id in await self.subscriptions.tickets(location):
            try:
                added += await self.compare_ticket(location, ticket_id)
            except Unavailable:
                raise  # (Redis away: the loop starts again)
            except Exception:
                log.exception("a ticket's push subscriptions could not be compared")
        if added:
            self.wake()
        return added

    async def compare_ticket(self, location: str, ticket_id: str) -> int:
        subs = await self.subscriptions.of_ticket(location, ticket_id)
        try:
            record, position, _ = await self.store.ticket(ticket_id)
        except NoSuchTicket:
            await self.subscriptions.drop_ticket(location, ticket_id)
            return 0
        added, ended = 0, False
        for sub in subs:
            found, told, ended = notices(sub, record, position)
            for notice in found:
                payload = self.payload(location, sub, record.number, notice)
                added += await self._schedule(location, sub, notice, payload)
            if told != sub and not ended:
                await self.subscriptions.mark(location, told)
        if ended or not subs:
            await self.subscriptions.drop_ticket(location, ticket_id)
        return added

    async def current(self, location: str, ticket_id: str, sub_id: str) -> Subscription | None:
        """The subscription as it is now (None: unsubscribed, or its ticket ended)."""
        return await self.subscriptions.get(location, ticket_id, sub_id)

    async def _schedule(
        self, location: str, sub: Subscription, notice: Notice, payload: dict[str, Any]
    ) -> int:
        now_ms = int(self.store.clock().timestamp() * 1000)
        body = {
            "kind": notice.kind,
            "location": location,
            "ticket_id": sub.ticket_id,
            "subscription": sub.id,
            "endpoint": sub.endpoint,
            "p256dh": sub.p256dh,
            "auth": sub.auth,
            "payload": payload,
            "ttl": TTL_S[notice.kind],
            # Past this, a message is of no use (a call an hour late): not sent at all.
            "until_ms": now_ms + TTL_S[notice.kind] * 1000,
            "urgency": URGENCY[notice.kind],
        }
        job_id = f"push.{sub.id}.{notice.key}"
        # The same message, however often it is sent, carries the same id: the service
        # worker and the push service (its Topic) can tell a repeat.
        body["payload"] = {**payload, "id": job_id}
        return int(await self.jobs.add(job_id, "push", body, now_ms))

    def payload(
        self, location: str, sub: Subscription, number: str, notice: Notice
    ) -> dict[str, Any]:
        """The message as the service worker shows it, in the subscription's language."""
        loc = self.office.location_by_id[location]
        t = Translator(sub.lang)
        out: dict[str, Any] = {
            "type": notice.kind,
            "ticket_id": sub.ticket_id,
            "number": number,
            "url": sub.url,
        }
        if notice.kind == "soon":
            out["ahead"] = notice.ahead
            out["title"] = t("Bald sind Sie dran: {number}", number=number)
            out["body"] = (
                t("Sie sind als Nächstes dran. Bitte kommen Sie jetzt in den Wartebereich.")
                if not notice.ahead
                else t.ngettext(
                    "Noch {n} Person vor Ihnen. Bitte kommen Sie jetzt in den Wartebereich.",
                    "Noch {n} Personen vor Ihnen. Bitte kommen Sie jetzt in den Wartebereich.",
                    notice.ahead,
                )
            )
        elif notice.kind in ("called", "recalled"):
            counter = loc.counter_by_id.get(notice.counter or "")
            name = t.name(counter) if counter else (notice.counter or "")
            out["counter_name"] = name
            out["title"] = (
                t("Aufruf: {number}", number=number)
                if notice.kind == "called"
                else t("Erneuter Aufruf: {number}", number=number)
            )
            out["body"] = t("Bitte kommen Sie jetzt zu {counter}.", counter=name)
        elif notice.kind == "transferred":
            queue = loc.queue_by_id.get(notice.queue or "")
            name = t.name(queue) if queue else (notice.queue or "")
            out["queue_name"] = name
            out["title"] = t("Weitergeleitet: {number}", number=number)
            out["body"] = t("Sie warten jetzt auf: {queue}.", queue=name)
        else:
            out["title"] = t("Beendet: {number}", number=number)
            out["body"] = t(
                "Ihre Wartenummer wurde ohne Aufruf beendet. Fragen Sie bitte am Empfang."
            )
        return out

    # --- watching ---------------------------------------------------------------------------

    async def watch(self) -> None:
        """For ever: compare a location whenever its state moved on (run it under
        :func:`waitboard.tasks.supervise`). Which state was compared last is kept in Redis,
        so a change is compared by one process, not by each."""
        swept: dict[str, float] = {}
        loop = asyncio.get_running_loop()
        token = secrets.token_hex(8)
        while True:
            for loc in self.office.locations:
                async with self.redis.pipeline(transaction=False) as p:
                    p.scard(keys.push_tickets(loc.id))
                    p.hmget(keys.meta(loc.id), "epoch", "seq")
                    p.get(keys.push_compared(loc.id))
                    count, (epoch, seq), compared = await p.execute()
                state = f"{_text(epoch)}:{_text(seq)}"
                now = loop.time()
                sweep = now - swept.get(loc.id, 0.0) >= SWEEP_S
                if not count or (_text(compared) == state and not sweep):
                    continue
                if await self.subscriptions.lock(loc.id, token, LOCK_MS):
                    try:
                        await self.compare(loc.id)
                        await self.redis.set(keys.push_compared(loc.id), state, ex=COMPARED_TTL_S)
                        swept[loc.id] = now
                    finally:
                        await self.subscriptions.unlock(loc.id, token)
            await asyncio.sleep(POLL_S)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
