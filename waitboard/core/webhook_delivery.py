"""The deliverer's decisions, without I/O: what an answer means, how long to wait before
trying again, and whether the event stream was trimmed past what was delivered.

An office wants every event at its CRM, in order, and none lost while that system is down
for maintenance: so a message is tried again - the same message, never the next one - for
as long as the receiver answers as a service that is down or misconfigured would. Only a
receiver that rejects this one message (400, 422, ...: it will never take it) lets the
deliverer move on; that is logged and counted, and the next message goes out.

=========================================  ===========  =====================================
answer                                     verdict      why
=========================================  ===========  =====================================
2xx                                        delivered    the cursor moves past the message
408, 425, 429, 5xx, no answer, timeout     retry        the receiver is down or busy
401, 403, 404, 3xx (never followed)        retry        the receiving end is misconfigured:
                                                        every message would fail alike, and
                                                        they are kept until it is fixed
any other 4xx                              rejected     this message will never be taken;
                                                        skipped with a warning and a count
=========================================  ===========  =====================================

Stream entry ids (``<ms>-<n>``) are compared as pairs of numbers, here, so that the store
only moves them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from waitboard.core import retries

#: Answers that say "not now" or "the address or the credentials are wrong": retried.
RETRIED_4XX = frozenset({401, 403, 404, 408, 425, 429})
#: The stream id before every entry: a cursor there has delivered nothing yet.
START = "0-0"


class Verdict(enum.Enum):
    DELIVERED = "delivered"
    RETRY = "retry"
    REJECTED = "rejected"


def verdict(status: int) -> Verdict:
    """What the receiver's HTTP status means for the message (the table above)."""
    if 200 <= status < 300:
        return Verdict.DELIVERED
    if 400 <= status < 500 and status not in RETRIED_4XX:
        return Verdict.REJECTED
    return Verdict.RETRY


def backoff_s(failures: int, retry_after: float | None = None, jitter: float = 0.0) -> float:
    """The pause after the ``failures``-th failure in a row of one message: 1 s, doubling, at
    most 5 min; longer when the receiver asked so (Retry-After, at most an hour).
    ``jitter`` (0 to 1) spreads deliverers that failed together by up to a tenth."""
    pause = retries.backoff_s(failures) * (1 + jitter / 10)
    if retry_after is not None:
        pause = max(pause, min(retry_after, retries.MAX_RETRY_AFTER_S))
    return pause


@dataclass(frozen=True, order=True, slots=True)
class EntryId:
    """A stream entry id, ordered as Redis orders them."""

    ms: int
    n: int

    @classmethod
    def parse(cls, text: str) -> EntryId:
        ms, _, n = text.partition("-")
        return cls(int(ms), int(n or 0))

    def __str__(self) -> str:
        return f"{self.ms}-{self.n}"

    def before(self) -> EntryId:
        """The id right before this one: a cursor there reads this entry next."""
        if self.n > 0:
            return EntryId(self.ms, self.n - 1)
        return EntryId(self.ms - 1, 2**64 - 1)


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a webhook's delivery of one location stands: the last entry delivered (or
    skipped), and its ``seq``. At :data:`START`, ``seq`` is the location's seq when the
    webhook began: every entry from then on is to be delivered."""

    after: str
    seq: int


def trimmed_past(cursor: Cursor, first: str | None, first_seq: int | None) -> bool:
    """Whether entries after the cursor may have been trimmed away before delivery, given
    the oldest entry the stream still holds (``first``, with its seq).

    The stream is only ever trimmed from its old end, so nothing is missing while the
    cursor's own entry is still there. Once it is gone, an entry between it and ``first``
    may have been trimmed too: that is said (a gap) unless ``first`` is the very next id.
    From :data:`START` no entry had been delivered: then the seqs tell, since every command
    bumps the location's seq once.
    """
    if first is None or EntryId.parse(first) <= EntryId.parse(cursor.after):
        return False
    if cursor.after == START:
        return first_seq is not None and first_seq > cursor.seq + 1
    return EntryId.parse(first).before() != EntryId.parse(cursor.after)
