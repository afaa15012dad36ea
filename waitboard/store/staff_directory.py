"""The staff directory: the display names of people who signed in, apart from what they did.

Records of actions (the audit) name a person only by a pseudonymous id; this directory is
where such an id gets its name back, for the office's own staff pages. It is filled at
sign-in (a name the identity provider gives) and a person who leaves is deleted from it,
with the way from their subject at the provider to their id and their sessions: their
actions stay on record under an id that then names nobody.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from redis import exceptions as rx
from redis.commands.core import AsyncScript

from waitboard.core.audit import STAFF, keep_ms
from waitboard.core.audit import by as who
from waitboard.core.clock import to_ms
from waitboard.core.errors import Unavailable
from waitboard.core.staff import Actor
from waitboard.store import keys
from waitboard.store.location_scripts import LocationScripts
from waitboard.store.redis import register_scripts, run_script

_DOWN = (rx.ConnectionError, rx.TimeoutError, OSError)


@dataclass(frozen=True, slots=True)
class StaffMember:
    person: str  # the pseudonymous id records use
    name: str
    last_seen_ms: int


class StaffDirectory(LocationScripts):
    """Part of :class:`~waitboard.store.office_store.Store`."""

    async def remember_person(self, person: str, name: str, now_ms: int) -> None:
        """Keep (or renew) a person's display name, at sign-in."""
        entry = orjson.dumps({"name": name, "seen": now_ms})
        try:
            await self.redis.hset(keys.staff_directory(), person, entry)
        except _DOWN as e:
            raise Unavailable("Redis is not reachable; try signing in again.") from e

    async def forget_person(self, person: str, *, by: Actor | None = None) -> bool:
        """Delete a person (someone who left): their name, the way from their subject at the
        provider to their id (a next sign-in draws a new one) and their sessions; whether
        there was anything. The deletion is recorded in the audit (by whom) in one step."""
        return await self._staff_record("person_delete", by, person, forget=True)

    async def record_staff_action(self, action: str, by: Actor | None, subject: str = "") -> None:
        """Record an action that belongs to no location (a sign-in, a sign-out) in the
        office's audit."""
        await self._staff_record(action, by, subject)

    async def _staff_record(
        self, action: str, by: Actor | None, subject: str, *, forget: bool = False
    ) -> bool:
        payload: dict[str, Any] = {
            "action": action,
            "subject": subject,
            "now": to_ms(self.clock()),
            "audit_keep_ms": keep_ms(self.office.audit_days),
            "by": who(by),
        }
        if forget:
            payload["forget"] = True
        script = self._staff_script()
        keys_ = [keys.staff_directory(), keys.audit(STAFF)]
        if forget:
            payload["session_prefix"] = keys.staff_session("")
            keys_ += [keys.staff_subjects(), keys.staff_subject_of()]
            keys_.append(keys.staff_person_sessions(subject))
        return bool(await run_script("staff/record", script, keys_, payload, self.redis))

    def _staff_script(self) -> AsyncScript:
        script: AsyncScript | None = getattr(self, "_staff_record_script", None)
        if script is None:
            script = register_scripts(self.redis, ["staff/record"])["staff/record"]
            self._staff_record_script = script
        return script

    async def staff_members(self) -> list[StaffMember]:
        """Everyone in the directory, by name."""
        try:
            raw = await self.reads.hgetall(keys.staff_directory())
        except _DOWN as e:
            raise Unavailable("Redis is not reachable.") from e
        members = [_member(person, entry) for person, entry in raw.items()]
        return sorted(members, key=lambda m: (m.name.casefold(), m.person))

    async def person_names(self, persons: list[str]) -> dict[str, str]:
        """The names of those of ``persons`` still in the directory."""
        if not persons:
            return {}
        try:
            found = await self.reads.hmget(keys.staff_directory(), persons)
        except _DOWN as e:
            raise Unavailable("Redis is not reachable.") from e
        return {
            person: _member(person, entry).name
            for person, entry in zip(persons, found, strict=True)
            if entry is not None
        }


def _member(person: bytes | str, entry: bytes | str) -> StaffMember:
    data = orjson.loads(entry)
    pid = person.decode() if isinstance(person, bytes) else person
    return StaffMember(pid, str(data.get("name", "")), int(data.get("seen", 0)))
