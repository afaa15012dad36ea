"""Sends one push message (a job of kind ``push``): encrypted for the subscription's
browser (RFC 8291, aes128gcm, by pywebpush), signed for the push service (VAPID, RFC 8292,
by py-vapid), posted through :func:`waitboard.services.outbound.post` - which checks the
endpoint and every address it resolves to again now, against DNS rebinding.

What the push service answers decides the job's fate: 201 sent; 404 and 410 the
subscription is gone (the browser unsubscribed) and is deleted; 429 and 5xx later, after at
least its Retry-After; other answers mean this message can never be delivered (too large,
refused signature): given up, with a warning. Neither the endpoint, the keys, the JWT nor
the text is logged.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Awaitable, Callable

import orjson
from py_vapid import VapidException
from pywebpush import WebPusher

from waitboard.core.errors import PayloadTooLarge
from waitboard.core.outbound import OutboundFailed, OutboundPolicy, OutboundRefused
from waitboard.core.push import Subscription
from waitboard.services import outbound
from waitboard.services.jobs import Gone, Later, Outcome, Sent
from waitboard.services.push_keys import PushKeys
from waitboard.store.jobs import Job

log = logging.getLogger(__name__)

#: Drops a subscription the push service said is gone: (location, ticket id, subscription id).
Forget = Callable[[str, str, str], Awaitable[None]]
#: The subscription as it is now, or None: (location, ticket id, subscription id).
Current = Callable[[str, str, str], Awaitable[Subscription | None]]
#: Milliseconds now (the service's clock).
NowMs = Callable[[], int]


def topic(message_id: str) -> str:
    """A message's RFC 8030 topic: 32 base64url characters naming it."""
    return base64.urlsafe_b64encode(hashlib.sha256(message_id.encode()).digest()[:24]).decode()


class PushSender:
    def __init__(
        self,
        keys: PushKeys,
        policy: OutboundPolicy,
        forget: Forget,
        current: Current,
        now_ms: NowMs,
        resolver: outbound.Resolver = outbound.resolve,
    ) -> None:
        self.keys = keys
        self.policy = policy
        self.forget = forget
        self.current = current
        self.now_ms = now_ms
        self.resolver = resolver

    async def __call__(self, job: Job) -> Outcome:
        b = job.body
        left_s = (int(b.get("until_ms", 0)) - self.now_ms()) // 1000
        if left_s <= 0:
            return Gone("too late to be of use")
        if b.get("kind") != "closed":  # ("closed" goes out after its ticket took the rest)
            sub = await self.current(b["location"], b["ticket_id"], b["subscription"])
            if sub is None:
                return Gone("unsubscribed")  # turned off: nothing more, queued or not
            if b.get("kind") == "soon" and sub.told_called_at is not None:
                return Gone("overtaken by the call")  # a late retry must not replace it
        endpoint = str(b["endpoint"])
        subscription = {"endpoint": endpoint, "keys": {"p256dh": b["p256dh"], "auth": b["auth"]}}
        body = WebPusher(subscription).encode(orjson.dumps(b["payload"]), "aes128gcm")["body"]
        try:
            authorization = self.keys.authorization(endpoint)
        except VapidException:  # (an endpoint no JWT can name, e.g. an IPv6 literal; the
            # contact was checked at start-up)
            await self.forget(b["location"], b["ticket_id"], b["subscription"])
            return Gone("endpoint not signable")
        headers = {
            "Authorization": authorization,
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "TTL": str(max(1, min(int(b["ttl"]), left_s))),
            "Urgency": str(b["urgency"]),
            # RFC 8030 5.4: a message still undelivered is replaced by one of the same topic.
            "Topic": topic(str(b["payload"].get("id", job.id))),
        }
        try:
            answer = await outbound.post(
                self.policy, endpoint, body, headers, resolver=self.resolver
            )
        except OutboundRefused:
            # It passed when subscribed; its name now resolves where it may not go.
            await self.forget(b["location"], b["ticket_id"], b["subscription"])
            return Gone("endpoint refused")
        except PayloadTooLarge:
            return Gone("too large")
        except OutboundFailed:
            return Later()
        if 200 <= answer.status < 300:
            return Sent()
        if answer.status in (401, 403, 404, 410):
            # Gone (the browser unsubscribed), or made with another key (rotated): this
            # subscription can never be told anything again.
            await self.forget(b["location"], b["ticket_id"], b["subscription"])
            return Gone("subscription expired")
        if answer.status == 429 or answer.status >= 500:
            return Later(answer.retry_after)
        log.warning(
            "a push service refused a message", extra={"status": answer.status, "kind": job.kind}
        )
        return Gone(f"refused ({answer.status})")
