"""The push subscriptions of a location's tickets, in Redis.

Each ticket's subscriptions are one hash (subscription id -> JSON), and the location keeps
the set of tickets that have any, so that one look finds every subscription to compare
with the tickets' state. Writing both is one MULTI transaction. A subscription holds what
sending needs (endpoint, keys, language) and what it was told; it is deleted when its
ticket ends, and in any case expires with the tickets of its day.
"""

from __future__ import annotations

import orjson
from redis.asyncio import Redis

from waitboard.core.push import Subscription
from waitboard.store import keys

#: A subscription outlives no ticket: tickets are kept two days after they end.
SUBSCRIPTION_TTL_S = 2 * 24 * 3600


class PushSubscriptions:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def save(self, location: str, sub: Subscription) -> None:
        """Add or replace (the same id: the same browser's endpoint for this ticket)."""
        key = keys.push_subscriptions(location, sub.ticket_id)
        async with self.redis.pipeline(transaction=True) as tx:
            tx.hset(key, sub.id, orjson.dumps(sub.to_json()))
            tx.expire(key, SUBSCRIPTION_TTL_S)
            tx.sadd(keys.push_tickets(location), sub.ticket_id)
            await tx.execute()

    async def get(self, location: str, ticket_id: str, sub_id: str) -> Subscription | None:
        raw = await self.redis.hget(keys.push_subscriptions(location, ticket_id), sub_id)
        return None if raw is None else Subscription.from_json(orjson.loads(raw))

    async def delete(self, location: str, ticket_id: str, sub_id: str) -> bool:
        """False when there was no such subscription of this ticket."""
        key = keys.push_subscriptions(location, ticket_id)
        removed = await self.redis.hdel(key, sub_id)
        if removed and not await self.redis.exists(key):
            await self.redis.srem(keys.push_tickets(location), ticket_id)
        return bool(removed)

    async def mark(self, location: str, sub: Subscription) -> None:
        """Store what ``sub`` was told - unless it was deleted meanwhile."""
        key = keys.push_subscriptions(location, sub.ticket_id)
        if await self.redis.hexists(key, sub.id):
            await self.redis.hset(key, sub.id, orjson.dumps(sub.to_json()))

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
        raw = await self.redis.hgetall(keys.push_subscriptions(location, ticket_id))
        return [Subscription.from_json(orjson.loads(v)) for v in raw.values()]
