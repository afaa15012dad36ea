"""Web Push for a ticket: what a person who waits elsewhere is told, and when.

A person subscribes on their ticket's page (a browser ``PushSubscription``) and says how
many people ahead is "soon" for them. From then on every change of the ticket is compared
with what the subscription was last told (:func:`notices`), so a message goes out once per
change however often the comparison runs and whichever server process runs it:

* ``soon`` - at most that many people ahead, once;
* ``called`` - with the counter; ``recalled`` on each recall;
* ``transferred`` - sent on to another service;
* ``closed`` - the ticket ended without a call (cancelled, or the day ended).

A ticket that ended takes its subscriptions with it. The rules are plain data in, data out;
sending (RFC 8291 encryption, VAPID) is :mod:`waitboard.services.push`.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric import ec

from waitboard.core.domain import TicketStatus
from waitboard.core.errors import Unprocessable
from waitboard.core.state import TicketRecord

Kind = Literal["soon", "called", "recalled", "transferred", "closed"]

#: How many people ahead a person may choose to be told at.
AHEAD_MIN, AHEAD_MAX = 1, 10
#: An endpoint longer than this is no push service's (they are about 200-500 characters).
MAX_ENDPOINT = 2048
#: How long a push service keeps a message for a phone that is off (RFC 8030 TTL): a call
#: that arrives an hour late is of no use; "soon" and "closed" a little longer.
TTL_S: dict[str, int] = {
    "soon": 1800,
    "called": 600,
    "recalled": 600,
    "transferred": 1800,
    "closed": 3600,
}
#: RFC 8030 Urgency: a call should wake the phone at once.
URGENCY: dict[str, str] = {
    "soon": "high",
    "called": "high",
    "recalled": "high",
    "transferred": "normal",
    "closed": "low",
}


class BadSubscription(Unprocessable):
    code = "bad_push_subscription"
    title = "Push subscription not usable"


def _b64url(text: str, what: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise BadSubscription(f"{what} is not base64url.", field=what) from None


def check_keys(p256dh: str, auth: str) -> None:
    """The keys a browser gives: ``p256dh`` an uncompressed P-256 point, ``auth`` 16 bytes
    (RFC 8291); else :class:`BadSubscription` saying which."""
    point = _b64url(p256dh, "keys.p256dh")
    try:
        if len(point) != 65 or point[0] != 4:
            raise ValueError
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        raise BadSubscription(
            "keys.p256dh must be the browser's P-256 public key (65 bytes, uncompressed), "
            "as PushSubscription.toJSON() gives it.",
            field="keys.p256dh",
        ) from None
    if len(_b64url(auth, "keys.auth")) != 16:
        raise BadSubscription(
            "keys.auth must be the browser's 16-byte authentication secret, as "
            "PushSubscription.toJSON() gives it.",
            field="keys.auth",
        )


@dataclass(frozen=True, slots=True)
class Subscription:
    """One browser's subscription to one ticket, and what it was told so far."""

    id: str
    ticket_id: str
    endpoint: str
    p256dh: str
    auth: str
    ahead: int
    lang: str
    #: The ticket page's absolute address (the service's public address, or the one the
    #: person subscribed through).
    url: str
    # What it was told: "soon" (once), the call (by its time) and recalls, transfers.
    told_soon: bool = False
    told_called_at: int | None = None
    told_recall: int = 0
    told_transfers: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Subscription:
        return cls(**{k: raw[k] for k in cls.__dataclass_fields__ if k in raw})


@dataclass(frozen=True, slots=True)
class Notice:
    """A message to send: its kind, what it adds, and a key that names this change (so that
    the same change is sent once)."""

    kind: Kind
    key: str
    ahead: int | None = None
    counter: str | None = None
    queue: str | None = None


def notices(
    sub: Subscription, t: TicketRecord, position: int | None
) -> tuple[list[Notice], Subscription, bool]:
    """What ``sub`` is to be told about ticket ``t`` now (``position``: 1 = next), the
    subscription with that marked as told, and whether the ticket ended (the subscription
    is then to be deleted)."""
    out: list[Notice] = []
    told = sub
    if t.transfers > sub.told_transfers:
        out.append(Notice("transferred", f"transferred-{t.transfers}", queue=t.queue))
        told = replace(told, told_transfers=t.transfers)
    if t.status is TicketStatus.WAITING:
        if position is not None and not sub.told_soon and position - 1 <= sub.ahead:
            out.append(Notice("soon", "soon", ahead=position - 1))
            told = replace(told, told_soon=True)
        return out, told, False
    if t.status in (TicketStatus.CALLED, TicketStatus.SERVING) and t.called_at is not None:
        if t.called_at != sub.told_called_at:
            out.append(Notice("called", f"called-{t.called_at}", counter=t.counter))
            told = replace(told, told_called_at=t.called_at, told_recall=t.recall)
        elif t.recall > sub.told_recall:
            # (A call starts its recalls at 0 again: the key names the call too.)
            out.append(Notice("recalled", f"recalled-{t.called_at}-{t.recall}", counter=t.counter))
            told = replace(told, told_recall=t.recall)
        return out, told, False
    # Ended. Someone called was told so; someone never called learns that it is over.
    if t.called_at is None and sub.told_called_at is None:
        out.append(Notice("closed", "closed"))
    return out, told, True
