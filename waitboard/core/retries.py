"""When to try an outbound message again: back-off, a receiver's Retry-After, giving up."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

#: The first pause before a second attempt, and the longest between two.
FIRST_RETRY_S, MAX_RETRY_S = 1.0, 300.0
#: Attempts before a message is given up (about 8.5 minutes of back-off, more where a
#: receiver asks for it with Retry-After).
MAX_ATTEMPTS = 10
#: A receiver's Retry-After is honoured up to this long; beyond, it is taken as this.
MAX_RETRY_AFTER_S = 3600.0


def backoff_s(attempt: int) -> float:
    """The pause after the ``attempt``-th attempt failed: 1, 2, 4, ... seconds, at most
    :data:`MAX_RETRY_S`."""
    # (The exponent bounded: a receiver down for days must not overflow the float.)
    return min(MAX_RETRY_S, FIRST_RETRY_S * 2.0 ** min(max(0, attempt - 1), 30))


def retry_after_s(header: str | None, now: datetime) -> float | None:
    """A Retry-After header (RFC 9110: seconds or an HTTP date) in seconds from ``now``;
    None when absent or unreadable. Bounded by :data:`MAX_RETRY_AFTER_S`."""
    if not header:
        return None
    text = header.strip()
    if text.isascii() and text.isdigit():  # ("²".isdigit() is true, too)
        return min(float(text), MAX_RETRY_AFTER_S)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max(0.0, (when - now).total_seconds()), MAX_RETRY_AFTER_S)


def next_try_s(attempt: int, retry_after: str | None, now: datetime) -> float | None:
    """How long until the next attempt after the ``attempt``-th failed - at least what the
    receiver asked for - or None when the message is to be given up."""
    if attempt >= MAX_ATTEMPTS:
        return None
    asked = retry_after_s(retry_after, now)
    return max(backoff_s(attempt), asked or 0.0)
