"""Who acts: an unattended device with its token, or a person signed in at a workplace.

Every command is checked against the same four things - the role, the location, the
counters - whoever gives it, so the permission rules (``services/auth.py``) do not care
whether a device or a person acts. What differs is what the record of an action names: a
device by its configured id, a person by a pseudonymous id (never a name: names live apart,
in the staff directory, so that the record stays readable without them and a person who
leaves can be deleted from it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from waitboard.core.office import Role

#: How an actor's id names a person in records of actions (a device id never has a colon:
#: ``core/office.py`` restricts ids to lower-case letters, digits and '-').
PERSON_PREFIX = "person:"


class Actor(Protocol):
    """What a command needs to know about who gives it."""

    @property
    def id(self) -> str:
        """A device's id, or ``person:<pseudonymous id>``: what records name."""
        ...

    @property
    def role(self) -> Role: ...

    @property
    def location(self) -> str | None:
        """The one location it may act for; None: every location (admin)."""
        ...

    @property
    def counters(self) -> Sequence[str]:
        """The counters a counter role may operate."""
        ...

    @property
    def person(self) -> str | None:
        """The pseudonymous id of the person acting; None for a device on its own."""
        ...

    @property
    def device_id(self) -> str | None:
        """The device the action was given on, where one is known."""
        ...


@dataclass(frozen=True, slots=True)
class Workplace:
    """Where a signed-in person works this session: a role at a location (and for a
    counter role, the counters chosen after sign-in)."""

    role: Role
    location: str | None
    counters: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SignedInPerson:
    """A person signed in through the office's identity provider, at the workplace they
    chose, possibly on a configured device (a counter PC) whose id the records keep too."""

    person: str
    workplace: Workplace
    device_id: str | None = None

    @property
    def id(self) -> str:
        return PERSON_PREFIX + self.person

    @property
    def role(self) -> Role:
        return self.workplace.role

    @property
    def location(self) -> str | None:
        return self.workplace.location

    @property
    def counters(self) -> Sequence[str]:
        return self.workplace.counters
