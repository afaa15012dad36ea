"""The overview of every location (``/ws/locations``): one summary message for all of its
screens, built at most once per ``overview_coalesce_s`` and only when it is complete."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Generic

import orjson

from waitboard.core import snapshot
from waitboard.live.actions import Action, Kind, Message, Offer, S


class Overview(Generic[S]):
    def __init__(self, coalesce_s: float) -> None:
        self.coalesce_s = coalesce_s
        self.subscribers: set[S] = set()
        self.message: Message | None = None
        self.dirty = False  # a location's snapshot changed since the last message
        self.next_at = 0.0

    def wake_at(self) -> float | None:
        return self.next_at if self.dirty else None

    def pump(self, snaps: Sequence[dict[str, Any] | None], now: float) -> list[Action[S]]:
        """A new message for the screens, if one is due."""
        if not self.dirty or now < self.next_at:
            return []
        self.dirty = False
        complete = [s for s in snaps if s is not None]
        if len(complete) != len(snaps):
            return []  # complete overviews only; the missing ones are on their way
        payload = {"type": "locations", "locations": [snapshot.summary(s) for s in complete]}
        self.message = Message(Kind.SNAPSHOT, orjson.dumps(payload))
        self.next_at = now + self.coalesce_s
        return [Offer(self.message, tuple(self.subscribers))]
