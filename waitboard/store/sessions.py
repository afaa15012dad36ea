"""Staff sessions ended before their cookie expires: a logout is a mark in Redis, so every
process refuses the session at once.
"""

from __future__ import annotations

from redis import exceptions as rx

from waitboard.core.errors import Unavailable
from waitboard.store import keys
from waitboard.store.location_scripts import LocationScripts


class SessionMarks(LocationScripts):
    """Logouts (part of :class:`~waitboard.store.office_store.Store`)."""

    async def revoke_session(self, digest: str, ttl_s: int) -> None:
        try:
            await self.redis.set(keys.revoked_session(digest), "1", ex=ttl_s)
        except (rx.ConnectionError, rx.TimeoutError, OSError) as e:
            raise Unavailable(
                "Redis is not reachable; the logout did not go through. Try again in a moment."
            ) from e

    async def session_revoked(self, digest: str) -> bool:
        try:
            return bool(await self.reads.exists(keys.revoked_session(digest)))
        except (rx.ConnectionError, rx.TimeoutError, OSError) as e:
            raise Unavailable("Redis is not reachable.") from e
