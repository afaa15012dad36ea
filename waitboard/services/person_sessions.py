"""A signed-in person's session as Redis holds it (a JSON record) and as the pages see it.

The record: ``person`` (pseudonymous id), ``subject`` (keyed digest of issuer and sub),
``options`` and ``chosen`` (workplaces as ``[role, location, counters]``), ``device``,
``recheck_at`` (ms), the sealed ``refresh`` or ``access`` token, and ``version`` (one more
with each change: ``staff/session_update.lua`` compares it). See
:mod:`waitboard.services.staff_sign_in`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from waitboard.core.staff import SignedInPerson, Workplace


@dataclass(frozen=True)
class PersonSession:
    digest: str
    person: str
    options: tuple[Workplace, ...]
    chosen: Workplace | None
    device: str | None


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def wp(value: Any) -> Workplace:
    role, location, counters = value
    return Workplace(role, location, tuple(counters))


def raw(w: Workplace) -> list[Any]:
    return [w.role, w.location, list(w.counters)]


def session_view(
    d: str, record: dict[str, Any], counters_at: dict[str, list[str]]
) -> PersonSession:
    """The session as the pages see it: only workplaces the configuration still has (a
    location or counter removed since the sign-in is no choice and no place to act)."""

    def exists(w: Workplace) -> bool:
        here = counters_at.get(w.location) if w.location is not None else []
        return here is not None and all(c in here for c in w.counters)

    chosen = wp(record["chosen"]) if record.get("chosen") else None
    return PersonSession(
        digest=d,
        person=str(record["person"]),
        options=tuple(w for w in map(wp, record["options"]) if exists(w)),
        chosen=chosen if chosen is not None and exists(chosen) else None,
        device=record.get("device"),
    )


def who(record: dict[str, Any]) -> SignedInPerson | None:
    """Who a session is (was), for a record of it."""
    places = [record["chosen"]] if record.get("chosen") else list(record.get("options") or [])
    if not places or not record.get("person"):
        return None
    device = record.get("device")
    return SignedInPerson(str(record["person"]), wp(places[0]), device if device else None)
