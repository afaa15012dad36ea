"""One location's view as the hub holds it: its snapshot, what is pending, what is under way."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic

from waitboard.live.actions import Message, S

#: Reasons to reload that are about the seq alone: if Redis still has the seq the screens
#: have, there is nothing new to send. (A refresh is about waits that move on, a
#: (re)subscription and a first screen about the screens themselves, and a rewind means
#: the same seq may now stand for other content: those always send.)
SEQ_REASONS = frozenset({"change", "gap", "drift", "bad_doorbell"})

FIRST_BACKOFF_S, MAX_BACKOFF_S = 0.2, 5.0

#: The largest share of the time a location's fan-outs may take: after one that took D,
#: the next starts no sooner than D / SEND_SHARE after it began. A fan-out to a thousand
#: screens takes ~10 ms, and the window is what holds; to five thousand ~50 ms, and
#: snapshots go out about ten times a second, each frame a screen gets still news, instead
#: of back to back, where the screens' links and the event loop queue them up.
SEND_SHARE = 0.5
#: ...but never further apart than this for that reason: on a machine starved of CPU every
#: fan-out takes longer, and the screens must not get fewer than ten snapshots a second
#: (the rate the fixed window of earlier versions gave) because of it.
SEND_SHARE_CAP_S = 0.1


def drift(read: tuple[str, int], shown: tuple[str, int], before: tuple[str, int]) -> str | None:
    """What the (epoch, seq) a seq check read from Redis says of a view: None if nothing
    is amiss, ``"drift"`` if the view misses changes, ``"rewound"`` if Redis went back.

    ``shown`` is the view's (epoch, seq) now, ``before`` when the check asked. A view that
    moved past what was read while the answer came is not behind: its reload read later.
    Redis behind what the view showed when the check asked was restored from an older
    copy (a backup, a failover that lost writes).
    """
    if read == shown:
        return None
    if read[0] == before[0] == shown[0]:
        if read[1] < before[1]:
            return "rewound"
        if read[1] < shown[1]:
            return None  # moved on
    return "drift"


@dataclass(frozen=True, slots=True)
class LoadUnderWay:
    reasons: frozenset[str]
    shown: bool  # the screens showed the view as current when the load began
    pending_since: float | None
    held: int
    started: float


@dataclass(eq=False)
class LocationView(Generic[S]):
    location: str
    snapshot: dict[str, Any] | None = None
    message: Message | None = None  # the newest snapshot
    epoch: str = ""
    seq: int = -1
    subscribers: set[S] = field(default_factory=set)
    dirty: bool = False  # a load is wanted
    reasons: set[str] = field(default_factory=set)
    change_ts: int | None = None  # commit time (ms) of the oldest change not yet loaded
    dirty_since: float | None = None  # monotonic time of the oldest change not yet loaded
    # Nobody here watches the location: its changes are not loaded as they come, the
    # cached snapshot is then known to be older than Redis until the next read loads it.
    # ``held`` counts the changes so held back.
    outdated: bool = False
    held: int = 0
    load: LoadUnderWay | None = None
    unsent: bool = False  # ``message`` waits for its fan-out
    sending: bool = False  # a fan-out is under way
    frame_change_ts: int | None = None  # commit time (ms) of the oldest change in ``message``
    next_load_at: float = 0.0  # a failed load's back-off
    # The start of the location's last fan-out: the next load waits until ``coalesce_s``
    # after it, so that snapshots are never closer than that.
    last_fanout_at: float = float("-inf")
    last_fanout_s: float = 0.0  # how long it took
    retrying: bool = False  # waits after a failed load (cut short when the link comes back)
    backoff: float = FIRST_BACKOFF_S

    @property
    def loading(self) -> bool:
        return self.load is not None

    @property
    def wants_load(self) -> bool:
        """A load is wanted and may start once it is due (:meth:`load_due_at`)."""
        return self.dirty and not (self.loading or self.unsent)

    def load_due_at(self, coalesce_s: float) -> float:
        """The adaptive window: a change is loaded at once - and sent as soon as the
        location's last fan-out has ended - unless that fan-out began less than
        ``coalesce_s`` ago. Changes that come meanwhile, or while a load or a fan-out is
        under way, go out together in the next snapshot: bursts coalesce by themselves,
        as a fan-out to thousands of screens takes tens of milliseconds, and no location
        gets more than one snapshot per ``coalesce_s``. (A fixed window after each load
        held back every change that came within it, also while nothing was being sent.)
        A fan-out that took long spaces the next one out (SEND_SHARE), and a failed load's
        back-off holds it too."""
        spacing = max(coalesce_s, min(self.last_fanout_s / SEND_SHARE, SEND_SHARE_CAP_S))
        return max(self.next_load_at, self.last_fanout_at + spacing)

    def begin_load(self, shown: bool, now: float) -> None:
        """The pending change, taken into a load under way."""
        self.load = LoadUnderWay(frozenset(self.reasons), shown, self.dirty_since, self.held, now)
        self.reasons, self.dirty, self.dirty_since, self.retrying = set(), False, None, False
