"""What the hub's view asks its I/O shell to do, and the messages it has sent.

Each action names its answer: the shell carries it out and tells the view the result
(:mod:`waitboard.live.view`). Messages are serialised once, not yet encoded for the wire.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Generic, TypeVar

#: A screen, as the view knows it: something to hand messages to (the hub does the handing).
S = TypeVar("S")


class Kind(enum.Enum):
    SNAPSHOT = "snapshot"
    HEARTBEAT = "heartbeat"
    STALE = "stale"


@dataclass(frozen=True, eq=False, slots=True, weakref_slot=True)
class Message:
    """One message for many screens, serialised once; its wire encoding is the hub's."""

    kind: Kind
    payload: bytes


STALE = Message(Kind.STALE, b'{"type":"stale"}')
OVERVIEW_BEAT = Message(Kind.HEARTBEAT, b'{"type":"heartbeat"}')


@dataclass(frozen=True, slots=True)
class Load:
    """Read the location's state; answer with :meth:`View.loaded` or :meth:`View.load_failed`."""

    location: str


@dataclass(frozen=True, slots=True)
class FanOut(Generic[S]):
    """Offer ``message`` to ``screens`` in turns; answer with :meth:`View.sent`."""

    location: str
    message: Message
    screens: tuple[S, ...]


@dataclass(frozen=True, slots=True)
class Offer(Generic[S]):
    """Offer ``message`` to ``screens`` now (a screen that joined, a stale notice, a beat)."""

    message: Message
    screens: tuple[S, ...]


@dataclass(frozen=True, slots=True)
class CheckSeqs:
    """Read every location's (epoch, seq); answer with :meth:`View.seqs_read`."""

    before: dict[str, tuple[str, int]]


Action = Load | FanOut[S] | Offer[S] | CheckSeqs
