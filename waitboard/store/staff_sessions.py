"""Signed-in persons' sessions, sign-in flows on their way, and the people's pseudonymous ids.

A person's session lives here, not in the cookie: the cookie holds only a random session id,
Redis the session under a digest of that id, with a lifetime (so every process serves it
and signing out ends it everywhere at once). What a session holds of the identity provider's
tokens is sealed before it comes here (``services/staff_sign_in.py``). A person's id is
random, drawn at their first sign-in and kept for their subject at the provider (under a
keyed digest of issuer and subject: see docs/staff-sign-in.md on the secret key), with the
way back from the id to that digest and a list of the person's sessions, both for deleting
the person (``staff_directory.py``).
"""

from __future__ import annotations

import secrets
from typing import Any

import orjson
from redis import exceptions as rx
from redis.commands.core import AsyncScript

from waitboard.core.clock import to_ms
from waitboard.core.errors import Unavailable
from waitboard.store import keys, scripts
from waitboard.store.location_scripts import LocationScripts
from waitboard.store.redis import register_scripts, run_script

_DOWN = (rx.ConnectionError, rx.TimeoutError, OSError)
_UPDATE = "staff/session_update"
_PSEUDONYM = "staff/pseudonym"
_AGAIN = "Redis is not reachable; try signing in again in a moment."


class StaffSessions(LocationScripts):
    """Part of :class:`~waitboard.store.office_store.Store`."""

    async def save_staff_session(self, digest: str, session: dict[str, Any], ttl_ms: int) -> None:
        """A new session, also in its person's list (which a deletion of the person ends)."""
        now_ms = to_ms(self.clock())
        mine = keys.staff_person_sessions(str(session["person"]))
        try:
            async with self.redis.pipeline(transaction=True) as tx:
                tx.set(keys.staff_session(digest), orjson.dumps(session), px=ttl_ms)
                tx.zremrangebyscore(mine, "-inf", now_ms)
                tx.zadd(mine, {digest: now_ms + ttl_ms})
                tx.pexpire(mine, ttl_ms)
                await tx.execute()
        except _DOWN as e:
            raise Unavailable(_AGAIN) from e

    async def update_staff_session(self, digest: str, session: dict[str, Any]) -> bool | None:
        """Replaces a session that still exists and that no other request changed since
        ``session`` was read (its ``version``), keeping its lifetime: True if it did, False
        if the session is gone, None if it changed meanwhile (read it again)."""
        read = int(session.get("version") or 0)
        written = orjson.dumps({**session, "version": read + 1}).decode()
        payload = {"version": read, "session": written}
        script: AsyncScript | None = getattr(self, "_session_update_script", None)
        if script is None:
            script = register_scripts(self.redis, [_UPDATE])[_UPDATE]
            self._session_update_script = script
        done = await run_script(_UPDATE, script, [keys.staff_session(digest)], payload, self.redis)
        if int(done) < 0:
            return None
        if done:
            session["version"] = read + 1
        return bool(done)

    async def staff_session(self, digest: str) -> dict[str, Any] | None:
        try:
            raw = await self.redis.get(keys.staff_session(digest))
        except _DOWN as e:
            raise Unavailable("Redis is not reachable.") from e
        found: dict[str, Any] | None = orjson.loads(raw) if raw else None
        return found

    async def end_staff_session(self, digest: str) -> dict[str, Any] | None:
        """Deletes the session; what it held (for signing out at the provider), if any."""
        try:
            raw = await self.redis.getdel(keys.staff_session(digest))
            found: dict[str, Any] | None = orjson.loads(raw) if raw else None
            if found is not None:
                await self.redis.zrem(keys.staff_person_sessions(str(found["person"])), digest)
        except _DOWN as e:
            raise Unavailable(
                "Redis is not reachable; the sign-out did not go through. Try again in a moment."
            ) from e
        return found

    async def claim_recheck(self, digest: str, hold_ms: int) -> bool:
        """Whether this request asks the provider again (one at a time per session: a
        refresh token may be good for one use only)."""
        try:
            got = await self.redis.set(
                keys.staff_session(digest, "recheck"), "1", nx=True, px=hold_ms
            )
        except _DOWN as e:
            raise Unavailable("Redis is not reachable.") from e
        return bool(got)

    async def release_recheck(self, digest: str) -> None:
        try:
            await self.redis.delete(keys.staff_session(digest, "recheck"))
        except _DOWN as e:
            raise Unavailable("Redis is not reachable.") from e

    async def save_sign_in_flow(self, digest: str, sealed: str, ttl_s: int) -> None:
        try:
            await self.redis.set(keys.staff_session(digest, "flow"), sealed, ex=ttl_s)
        except _DOWN as e:
            raise Unavailable(_AGAIN) from e

    async def take_sign_in_flow(self, digest: str) -> str | None:
        """The flow, once: a callback replayed finds nothing."""
        try:
            raw = await self.redis.getdel(keys.staff_session(digest, "flow"))
        except _DOWN as e:
            raise Unavailable(_AGAIN) from e
        return raw.decode() if isinstance(raw, bytes) else raw

    async def person_of_subject(self, subject_digest: str) -> str:
        """The person id of a subject at the provider: drawn at the first sign-in, the same
        ever after (and the same for every process that signs them in at once)."""
        script: AsyncScript | None = getattr(self, "_pseudonym_script", None)
        if script is None:
            script = self.redis.register_script(scripts.source(_PSEUDONYM))
            self._pseudonym_script = script
        try:
            found = await script(
                keys=[keys.staff_subjects(), keys.staff_subject_of()],
                args=[subject_digest, secrets.token_hex(8)],
                client=self.redis,
            )
        except _DOWN as e:
            raise Unavailable(_AGAIN) from e
        return found.decode() if isinstance(found, bytes) else str(found)
