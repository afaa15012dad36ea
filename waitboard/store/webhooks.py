"""A webhook's delivery of a location in Redis: its lease, its cursor, the events to send.

The lease (``scripts/webhooks/lease.lua``) makes one process at a time the deliverer of a
webhook for a location, however many server processes and machines run; the cursor
(``scripts/webhooks/cursor.lua``) says how far the location's event stream has been
delivered, and only the lease's holder can move it. Both live under the location's hash
tag (:func:`waitboard.store.keys.webhook_lease`). Reads of the stream are plain commands.
Redis failing becomes :class:`~waitboard.core.errors.Unavailable`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from waitboard.core.webhook_delivery import Cursor
from waitboard.store import keys
from waitboard.store.redis import read, register_scripts, run_script

#: How long a read waits for a new event before it answers "none" (under the socket timeout).
BLOCK_MS = 1000


@dataclass(frozen=True, slots=True)
class Entry:
    """One entry of a location's event stream: its id and fields (as the scripts wrote them)."""

    id: str
    fields: dict[str, str]

    @property
    def seq(self) -> int | None:
        try:
            return int(self.fields.get("seq", ""))
        except ValueError:
            return None


def _entry(raw: Any) -> Entry:
    """An entry as redis-py answers it: ``(id, {field: value})``."""
    entry_id, fields = raw
    return Entry(_text(entry_id), {_text(k): _text(v) for k, v in fields.items()})


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class WebhookStore:
    """Leases, cursors and reads for the deliverers; ``redis``: a client of their own (a
    read blocks its connection for up to :data:`BLOCK_MS`)."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        scripts = register_scripts(redis, ["webhooks/lease", "webhooks/cursor"])
        self._lease = scripts["webhooks/lease"]
        self._cursor = scripts["webhooks/cursor"]

    async def hold(self, location: str, webhook: str, token: str, ttl_ms: int) -> bool:
        """Take the lease, or renew it when ``token`` holds it; False: another holds it."""
        answer = await run_script(
            "webhooks/lease",
            self._lease,
            [keys.webhook_lease(location, webhook)],
            {"op": "hold", "token": token, "ttl_ms": ttl_ms},
            self.redis,
        )
        return bool(answer)

    async def release(self, location: str, webhook: str, token: str) -> None:
        """Give the lease up (if ``token`` still holds it), so that another may go on now."""
        await run_script(
            "webhooks/lease",
            self._lease,
            [keys.webhook_lease(location, webhook)],
            {"op": "release", "token": token},
            self.redis,
        )

    def _cursor_keys(self, location: str, webhook: str) -> list[str]:
        return [
            keys.webhook_lease(location, webhook),
            keys.webhook_cursor(location, webhook),
            keys.events(location),
            keys.meta(location),
        ]

    async def cursor(self, location: str, webhook: str, token: str) -> Cursor | None:
        """The cursor (a new one at the stream's newest entry for a webhook new to the
        location); None when ``token`` does not hold the lease."""
        answer = await run_script(
            "webhooks/cursor",
            self._cursor,
            self._cursor_keys(location, webhook),
            {"op": "start", "token": token},
            self.redis,
        )
        if not answer:
            return None
        after, seq = answer
        return Cursor(_text(after), int(_text(seq) or 0))

    async def advance(self, location: str, webhook: str, token: str, cursor: Cursor) -> bool:
        """Store the cursor; False (and nothing stored) when ``token`` lost the lease."""
        answer = await run_script(
            "webhooks/cursor",
            self._cursor,
            self._cursor_keys(location, webhook),
            {"op": "advance", "token": token, "after": cursor.after, "seq": cursor.seq},
            self.redis,
        )
        return bool(answer)

    async def after(self, location: str, entry_id: str, count: int, block_ms: int) -> list[Entry]:
        """Up to ``count`` entries after ``entry_id``, oldest first; waits up to
        ``block_ms`` for one when there is none yet (0: answers at once)."""
        stream = keys.events(location)
        if block_ms <= 0:
            raw: Any = await read(self.redis.xrange(stream, f"({entry_id}", "+", count=count))
            return [_entry(e) for e in raw]
        answer: Any = await read(self.redis.xread({stream: entry_id}, count=count, block=block_ms))
        return [_entry(e) for _, entries in answer or [] for e in entries]

    async def first(self, location: str) -> Entry | None:
        """The oldest entry the stream still holds (None: no stream)."""
        raw: Any = await read(self.redis.xrange(keys.events(location), "-", "+", count=1))
        return _entry(raw[0]) if raw else None
