"""Rate limits shared by every server process: buckets in Redis, one atomic script.

A bucket allows ``burst`` requests at once and then ``per_minute``; it is a single Redis
key that ``scripts/limits/gcra.lua`` moves (the generic cell rate algorithm), on the Redis
server's clock. So a limit holds as documented however many processes and machines serve
the requests, not once per process. What counts against which bucket is the policy's
business (:mod:`waitboard.services.limits`, the status lookup); this module only counts.

Privacy: a subject (a client address, an application number) is named in Redis by its
keyed digest (HMAC with the server's secret key), never as it is, and a bucket's key
expires the moment the bucket is at rest again.

Redis unreachable: the limiter lets every request through (it fails open) rather than take
the public pages down with it. Each request let through unchecked is counted in
``waitboard_rate_limit_unavailable_total``; the outage is logged once, when it begins, and
again when it ends - without addresses. For a second after a failure Redis is not asked
at all, so a Redis that hangs costs one request a wait, not every request.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from redis import exceptions as rx
from redis.asyncio import Redis

from waitboard.core.application_pins import keyed_digest
from waitboard.metrics import Metrics
from waitboard.store.keys import rate_limit
from waitboard.store.redis import DEADLINE_S, register_scripts

log = logging.getLogger(__name__)

#: After Redis failed to answer, requests go through unchecked this long before it is
#: asked again.
PAUSE_AFTER_FAILURE_S = 1.0


@dataclass(frozen=True)
class Limit:
    """``burst`` requests at once, then ``per_minute`` (0: no limit)."""

    per_minute: float
    burst: float

    @property
    def active(self) -> bool:
        return self.per_minute > 0

    @property
    def interval_ms(self) -> int:
        """Milliseconds per request at the sustained rate (rounded up: never looser)."""
        return max(1, math.ceil(60_000 / self.per_minute))


#: A subject's buckets by name (``public``, ``failures``, ...), with their limits.
Buckets = Mapping[str, Limit]


class Limiter:
    """Takes requests from buckets in Redis; ``now_ms``: a clock for tests (default: the
    Redis server's own, which every process shares)."""

    def __init__(
        self,
        redis: Redis,
        secret: str,
        metrics: Metrics,
        now_ms: Callable[[], int] | None = None,
    ) -> None:
        self.redis = redis
        self.secret = secret
        self.metrics = metrics
        self.now_ms = now_ms
        self._script = register_scripts(redis, ["limits/gcra"])["limits/gcra"]
        self._unchecked_until = 0.0  # time.monotonic(): Redis is not asked before then
        self._down = False  # an outage was logged and has not ended yet

    async def take(self, kind: str, value: str, buckets: Buckets) -> float:
        """Charge one request of ``value`` (an address, a number: ``kind`` says which) to
        each of ``buckets``, all or none: 0.0 when it may go ahead, else the seconds until
        it may. Inactive limits are left out; Redis unreachable: 0.0 (fails open)."""
        active = {name: limit for name, limit in buckets.items() if limit.active}
        if not active:
            return 0.0
        answer = await self._run(kind, value, active, 1)
        if answer is None:
            return 0.0
        wait_ms, tightest = int(answer[0]), int(answer[1])
        if wait_ms <= 0:
            return 0.0
        self.metrics.rate_limited.labels(list(active)[tightest - 1]).inc()
        return wait_ms / 1000

    async def give_back(self, kind: str, value: str, buckets: Buckets) -> None:
        """Undo one :meth:`take` that turned out not to count (a right PIN after all)."""
        active = {name: limit for name, limit in buckets.items() if limit.active}
        if active:
            await self._run(kind, value, active, -1)

    def key(self, kind: str, value: str, bucket: str) -> str:
        """The Redis key of one bucket: the subject only as its keyed digest."""
        return rate_limit(keyed_digest(self.secret, kind, value), bucket)

    async def _run(self, kind: str, value: str, buckets: Buckets, cost: int) -> list[int] | None:
        """The script's answer, or None when Redis could not be asked."""
        if time.monotonic() < self._unchecked_until:
            self.metrics.rate_limit_unavailable.inc()
            return None
        keys = [self.key(kind, value, name) for name in buckets]
        args: list[int | str] = ["" if self.now_ms is None else self.now_ms(), cost]
        for limit in buckets.values():
            args += [limit.interval_ms, repr(float(limit.burst))]
        try:
            async with asyncio.timeout(DEADLINE_S):
                answer: list[int] = await self._script(keys=keys, args=args, client=self.redis)
        except (TimeoutError, rx.RedisError, OSError) as e:
            self._unchecked_until = time.monotonic() + PAUSE_AFTER_FAILURE_S
            self.metrics.rate_limit_unavailable.inc()
            if not self._down:
                self._down = True
                log.warning(
                    "rate limits cannot reach Redis; requests go through unchecked",
                    extra={"error": type(e).__name__},
                )
            return None
        if self._down:
            self._down = False
            log.info("rate limits reach Redis again")
        return answer
