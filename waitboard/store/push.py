"""The push subscriptions of a location's tickets, in Redis.

Each ticket's subscriptions are one hash (subscription id -> JSON), and the location keeps
the set of tickets that have any, so that one look finds every subscription to compare
with the tickets' state. Every change is one script (``scripts/push/*.lua``): a
subscription is never half saved, never brought back by a late write after it was
deleted, and a ticket leaves the set with its last subscription. A subscription holds what
sending needs (endpoint, keys, language) and what it was told; it is deleted when its
ticket ends, and in any case expires with the tickets of its day.
"""

from __future__ import annotations

import orjson
from redis.asyncio import Redis

from waitboard.core.push import Subscription
from waitboard.store import keys
from waitboard.store.redis import register_scripts

#: A subscription outlives no ticket: tickets are kept two days after they end.
SUBSCRIPTION_TTL_S = 2 * 24 * 3600


class PushSubscriptions:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._scripts = register_scripts(
            redis, ["push/save", "push/mark", "push/delete", "push/unlock"]
        )

    async def save(self, location: str, sub: Subscription, limit: int) -> bool:
        """Add or replace (the same id: the same browser's endpoint for this ticket); False
        when the ticket has ``limit`` other subscriptions already."""
        saved = await self._scripts["push/save"](
            keys=[
                keys.push_subscriptions(location, sub.ticket_id),
                keys.push_tickets(location),
            ],
            args=[sub.id, orjson.dumps(sub.to_json()), sub.ticket_id, SUBSCRIPTION_TTL_S, limit],
        )
        return bool(saved)

    async def get(self, location: str, ticket_id: str, sub_id: str) -> Subscription | None:
        raw = await self.redis.hget(keys.push_subscriptions(location, ticket_id), sub_id)
        return None if raw is None else Subscription.from_json(orjson.loads(raw))

    async def delete(self, location: str, ticket_id: str, sub_id: str) -> bool:
        """False when there was no such subscription of this ticket."""
        removed = await self._scripts["push/delete"](
            keys=[keys.push_subscriptions(location, ticket_id), keys.push_tickets(location)],
            args=[sub_id, ticket_id],
        )
        return bool(removed)

    async def mark(self, location: str, sub: Subscription) -> None:
        """Store what ``sub`` was told - unless it was deleted meanwhile."""
        await self._scripts["push/mark"](
            keys=[keys.push_subscriptions(location, sub.ticket_id)],
            args=[sub.id, orjson.dumps(sub.to_json())],
        )

    async def drop_ticket(self, location: str, ticket_id: str) -> None:
        """The ticket ended: nothing of its subscriptions is kept."""
        async with self.redis.pipeline(transaction=True) as tx:
            tx.delete(keys.push_subscriptions(location, ticket_id))
            tx.srem(keys.push_tickets(location), ticket_id)
            await tx.execute()

    async def tickets(self, location: str) -> list[str]:
        return sorted(
            t.decode() if isinstance(t, bytes) else t
            for t in await self.redis.smembers(keys.push_tickets(location))
        )

    async def of_ticket(self, location: str, ticket_id: str) -> list[Subscription]:
        """The ticket's subscriptions (one that cannot be read any more is skipped)."""
        raw = await self.redis.hgetall(keys.push_subscriptions(location, ticket_id))
        out = []
        for value in raw.values():
            try:
                out.append(Subscription.from_json(orjson.loads(value)))
            except (TypeError, KeyError, orjson.JSONDecodeError):
                continue
        return out

    async def lock(self, location: str, token: str, ms: int) -> bool:
        return bool(await self.redis.set(keys.push_lock(location), token, nx=True, px=ms))

    async def unlock(self, location: str, token: str) -> None:
        await self._scripts["push/unlock"](keys=[keys.push_lock(location)], args=[token])
