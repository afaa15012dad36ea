"""Device tokens and roles.

A device (ticket terminal, reception desk, counter, display) holds a random token; the
configuration keeps only its SHA-256. Tokens are never logged. The narrowest role wins:
a terminal in a public lobby can issue tickets at its own location and nothing else.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable

from waitboard.core.errors import Forbidden, Unauthorized
from waitboard.core.office import Device, Office
from waitboard.core.staff import Actor

ISSUE_ROLES = ("terminal", "reception", "admin")
COUNTER_ROLES = ("counter", "admin")
TICKET_DESK_ROLES = ("reception", "counter", "admin")
STATS_ROLES = ("reception", "admin")
SENSOR_ROLES = ("sensor", "admin")
#: Who checks in the holder of a booking: the terminal, reception, a counter.
CHECK_IN_ROLES = ("terminal", "reception", "counter", "admin")
RECEPTION_ROLES = ("reception", "admin")
APPOINTMENT_LIST_ROLES = ("reception", "counter", "admin")
#: Who sees a booking's contact on that list: reception calls people about a cancelled
#: day; a counter serves the person in front of it and needs no phone number or e-mail.
CONTACT_ROLES = ("reception", "admin")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    """A new device token: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


class DeviceRegistry:
    def __init__(self, devices: Iterable[Device]) -> None:
        self._by_hash = {d.token_sha256: d for d in devices}
        self.by_id = {d.id: d for d in self._by_hash.values()}

    @classmethod
    def of(cls, office: Office) -> DeviceRegistry:
        return cls(office.devices)

    def authenticate(self, authorization: str | None) -> Device:
        """The device behind an ``Authorization: Bearer`` header, or Unauthorized."""
        if not authorization:
            raise Unauthorized(
                "This needs a device token: send the header 'Authorization: Bearer <token>'."
            )
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("The Authorization header must read 'Bearer <token>'.")
        return self.by_token(token)

    def knows(self, token: str) -> bool:
        """Whether this is a configured device's token (for the rate limits)."""
        return bool(token) and token_hash(token) in self._by_hash

    def by_token(self, token: str) -> Device:
        digest = token_hash(token)
        device = self._by_hash.get(digest)
        # The lookup key is already a hash of the secret; comparing the stored hash in
        # constant time as well keeps the check free of timing differences.
        if device is None or not hmac.compare_digest(device.token_sha256, digest):
            raise Unauthorized(
                "This token is not known here: it may have been revoked or "
                "mistyped. Ask the administrator for the device's token."
            )
        return device


def _who(actor: Actor) -> str:
    return "This sign-in" if actor.person else f"Device '{actor.id}'"


def require(
    actor: Actor,
    roles: tuple[str, ...],
    *,
    location: str | None = None,
    counter: str | None = None,
) -> None:
    """Forbidden unless the actor (a device or a signed-in person) has one of ``roles``
    for this location and counter."""
    who = _who(actor)
    if actor.role not in roles:
        raise Forbidden(f"{who} has the role {actor.role}; this needs {' or '.join(roles)}.")
    if location is not None and actor.location is not None and actor.location != location:
        raise Forbidden(f"{who} belongs to location {actor.location}, not {location}.")
    if counter is not None and actor.role == "counter" and counter not in actor.counters:
        raise Forbidden(f"{who} operates counter(s) {', '.join(actor.counters)}, not {counter}.")


def operated_counters(actor: Actor) -> list[str] | None:
    """The counters an actor may act for; None = any (reception, admin)."""
    return list(actor.counters) if actor.role == "counter" else None
