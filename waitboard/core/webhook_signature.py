"""Signing webhook messages as the Standard Webhooks specification says, and checking them.

Three headers go with every message: ``webhook-id`` (the message's id, the same on every
retry), ``webhook-timestamp`` (unix seconds of this attempt) and ``webhook-signature``
(``v1,`` and the base64 HMAC-SHA256 of ``{id}.{timestamp}.{body}``). The secret is written
as the specification's libraries expect it: ``whsec_`` and the key in base64, so a receiver
can check messages with any Standard Webhooks library, or with :func:`verify` (the check
docs/webhooks.md shows).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping

PREFIX = "whsec_"
#: Keys shorter than this are refused (the specification asks for 24 to 64 bytes).
MIN_KEY_BYTES, MAX_KEY_BYTES = 24, 64
#: How far a message's timestamp may lie from the receiver's clock (replays, the spec's 5 min).
TOLERANCE_S = 300


class SignatureError(ValueError):
    """A message whose signature does not check out; the reason, never the secret."""


def secret_key(secret: str) -> bytes:
    """The HMAC key of a secret ``whsec_<base64>``; ValueError saying how to make one."""
    text = secret.strip()
    how = (
        'make one with: python3 -c \'import base64, secrets; print("whsec_" + '
        "base64.b64encode(secrets.token_bytes(32)).decode())'"
    )
    if not text.startswith(PREFIX):
        raise ValueError(f"a webhook secret starts with {PREFIX}; {how}")
    try:
        key = base64.b64decode(text.removeprefix(PREFIX), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"a webhook secret is {PREFIX} and base64; {how}") from None
    if not MIN_KEY_BYTES <= len(key) <= MAX_KEY_BYTES:
        raise ValueError(
            f"a webhook secret's key has {MIN_KEY_BYTES} to {MAX_KEY_BYTES} bytes "
            f"(this one {len(key)}); {how}"
        )
    return key


def signature(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>``."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.digest(key, signed, hashlib.sha256)).decode()


def sign(key: bytes, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three headers that go with ``body``."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(key, message_id, timestamp, body),
    }


def verify(
    secret: str, headers: Mapping[str, str], body: bytes, now: int, tolerance_s: int = TOLERANCE_S
) -> str:
    """The receiver's check: the message id when ``body`` was signed with ``secret`` and its
    timestamp lies within ``tolerance_s`` of ``now`` (unix seconds); else SignatureError.
    ``headers`` are looked up in lower case; any one of several space-separated ``v1``
    signatures may match (a sender rotating its secret signs with both)."""
    lower = {k.lower(): v for k, v in headers.items()}
    message_id = lower.get("webhook-id", "")
    stamp = lower.get("webhook-timestamp", "")
    given = lower.get("webhook-signature", "")
    if not message_id or not stamp.isdigit() or not given:
        raise SignatureError("webhook-id, webhook-timestamp and webhook-signature are needed")
    timestamp = int(stamp)
    if abs(now - timestamp) > tolerance_s:
        raise SignatureError("the message's timestamp is too far from now")
    expected = signature(secret_key(secret), message_id, timestamp, body)
    if not any(hmac.compare_digest(expected, s) for s in given.split() if s.startswith("v1,")):
        raise SignatureError("no signature matches")
    return message_id
