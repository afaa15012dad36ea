"""Outbound jobs - push messages, reminders - scheduled in Redis and sent by whichever
server process claims them first.

A job is a hash and its place on one schedule (a sorted set by when it is due). Claiming a
job does not take it off the schedule: it moves it a lease into the future. The process
that holds it finishes it (sent, or given up) or puts it back for later (the receiver was
busy); a process that dies meanwhile leaves it due again when the lease ends, and another
process sends it. So every job is sent at least once, and - by its id, which the receiver
also gets - the same message is not added twice while it waits or for a while after it
was sent. Every step is one script (``scripts/jobs/*.lua``), on the one hash slot of the
tag ``{jobs}``.

Privacy: a job holds what is needed to send it (a push endpoint and its keys, the text);
it is deleted when done, and nothing of it is logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from redis.asyncio import Redis

from waitboard.store import keys
from waitboard.store.redis import register_scripts

#: How long a finished job's id is refused again (a repeated look at the same change).
DONE_MARK_MS = 2 * 24 * 3600 * 1000


@dataclass(frozen=True, slots=True)
class Job:
    """A claimed job: its id, kind (what sends it), body, and which claim this is (1 on the
    first)."""

    id: str
    kind: str
    body: dict[str, Any]
    attempt: int


class Jobs:
    """The schedule of outbound jobs in Redis."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._scripts = register_scripts(
            redis, ["jobs/add", "jobs/claim", "jobs/finish", "jobs/later"]
        )

    async def add(self, job_id: str, kind: str, body: dict[str, Any], due_ms: int) -> bool:
        """Schedule a job; False when one of this id is scheduled or was done lately."""
        added = await self._scripts["jobs/add"](
            keys=[keys.job_schedule(), keys.job(job_id), keys.job_done(job_id)],
            args=[kind, orjson.dumps(body), due_ms],
        )
        return bool(added)

    async def claim(self, now_ms: int, lease_ms: int, limit: int) -> list[Job]:
        """The jobs due at ``now_ms`` (at most ``limit``), each held for ``lease_ms``."""
        # Mostly nothing is due: a plain read says so without running the script.
        if not await self.redis.zrangebyscore(keys.job_schedule(), "-inf", now_ms, 0, 1):
            return []
        flat = await self._scripts["jobs/claim"](
            keys=[keys.job_schedule()], args=[now_ms, lease_ms, limit]
        )
        prefix = keys.job("x")[:-1]
        out = []
        for i in range(0, len(flat), 4):
            key, kind, body, attempt = flat[i : i + 4]
            key = key.decode() if isinstance(key, bytes) else key
            out.append(
                Job(
                    id=key.removeprefix(prefix),
                    kind=kind.decode() if isinstance(kind, bytes) else kind,
                    body=orjson.loads(body),
                    attempt=int(attempt),
                )
            )
        return out

    async def finish(self, job_id: str) -> None:
        """Done: sent, or given up. The id is refused for :data:`DONE_MARK_MS`."""
        await self._scripts["jobs/finish"](
            keys=[keys.job_schedule(), keys.job(job_id), keys.job_done(job_id)],
            args=[DONE_MARK_MS],
        )

    async def later(self, job_id: str, due_ms: int) -> bool:
        """Try again at ``due_ms``; False when the job is gone meanwhile."""
        moved = await self._scripts["jobs/later"](
            keys=[keys.job_schedule(), keys.job(job_id)], args=[due_ms]
        )
        return bool(moved)

    async def pending(self) -> int:
        """How many jobs wait or are being sent (for metrics and tests)."""
        return int(await self.redis.zcard(keys.job_schedule()))
