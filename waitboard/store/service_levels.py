"""Each queue's service-level alert episode in Redis, and the short hold that lets one
server process at a time look at a location's queues (:mod:`waitboard.services.
service_levels` decides; :mod:`waitboard.core.service_levels` says what).

Opening an episode and putting its ``service_level`` event on the location's stream (which
the webhooks deliver) is one script (``scripts/service_levels/open.lua``): an alert is on
the stream once per episode, however many processes look. The rest - back within the
target, the episode's end, "the mail is scheduled" - are plain commands: repeating one
changes nothing.
"""

from __future__ import annotations

from typing import Any

import orjson
from redis.asyncio import Redis

from waitboard.core.service_levels import Episode
from waitboard.store import keys
from waitboard.store.redis import register_scripts
from waitboard.store.scripts import EVENTS_MAXLEN

#: An episode left alone this long (the service stopped, the queue's target was removed)
#: is forgotten.
EPISODE_TTL_S = 2 * 24 * 3600


def _int(value: Any) -> int | None:
    return int(value) if value not in (None, b"", "") else None


class ServiceLevelStore:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._scripts = register_scripts(redis, ["service_levels/open"])

    async def hold(self, location: str, token: str, ms: int) -> bool:
        """True when this process is to look at the location now: nobody else held the
        look within the last ``ms`` (the hold is not released: it also spaces the looks)."""
        return bool(await self.redis.set(keys.service_level_look(location), token, nx=True, px=ms))

    async def episodes(self, location: str, queues: list[str]) -> dict[str, tuple[Episode, bool]]:
        """Each queue's episode, and whether its mail was scheduled."""
        async with self.redis.pipeline(transaction=False) as p:
            for q in queues:
                p.hmget(keys.service_level(location, q), "opened", "calm", "mailed")
            rows = await p.execute()
        out = {}
        for q, (opened, calm, mailed) in zip(queues, rows, strict=True):
            out[q] = (Episode(_int(opened), _int(calm)), _int(mailed) != 0)
        return out

    async def open(
        self, location: str, queue: str, now_ms: int, fields: dict[str, str]
    ) -> tuple[bool, int]:
        """(True, now) when this call opened the episode and put the alert on the stream;
        (False, when it opened) when it was open already."""
        key = keys.service_level(location, queue)
        opened, at = await self._scripts["service_levels/open"](
            keys=[key, keys.meta(location), keys.events(location)],
            args=[orjson.dumps({"now": str(now_ms), "maxlen": EVENTS_MAXLEN, "fields": fields})],
        )
        await self.redis.expire(key, EPISODE_TTL_S)
        return bool(opened), int(at)

    async def calm(self, location: str, queue: str, now_ms: int) -> None:
        """Back within the target (the episode ends if it stays so)."""
        key = keys.service_level(location, queue)
        await self.redis.hsetnx(key, "calm", now_ms)

    async def storm(self, location: str, queue: str) -> None:
        """Out of the target again before the episode ended: the same episode goes on."""
        await self.redis.hdel(keys.service_level(location, queue), "calm")

    async def close(self, location: str, queue: str) -> None:
        """Back within for long enough: the next leave is a new episode."""
        await self.redis.delete(keys.service_level(location, queue))

    async def mailed(self, location: str, queue: str) -> None:
        await self.redis.hset(keys.service_level(location, queue), "mailed", 1)
