"""The staff directory: the display names of people who signed in, apart from what they did.

Records of actions (the audit) name a person only by a pseudonymous id; this directory is
where such an id gets its name back, for the office's own staff pages. It is filled at
sign-in (a name the identity provider gives) and a person who leaves is deleted from it:
their actions stay on record under an id that then names nobody.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson
from redis import exceptions as rx

from waitboard.core.errors import Unavailable
from waitboard.store import keys
from waitboard.store.location_scripts import LocationScripts

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

    async def forget_person(self, person: str) -> bool:
        """Delete a person's name (someone who left); whether there was one."""
        try:
            return bool(await self.redis.hdel(keys.staff_directory(), person))
        except _DOWN as e:
            raise Unavailable("Redis is not reachable; nothing was deleted.") from e

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
