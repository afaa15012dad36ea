"""Secrets kept in Redis only sealed: AES-GCM under a key derived from the server's secret.

What Redis must hold but never in clear - a reminder's booking code, a signed-in person's
refresh token and ID token - is sealed here: each kind under a key of its own (derived from
``WAITBOARD_SECRET_KEY`` and a label), bound to what it belongs to (the associated data), so
a sealed value copied to another record does not open. A new secret key opens none of the
old values: what they were for ends (a reminder goes unsent, a person signs in again).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def _key(secret: str, label: bytes) -> bytes:
    return hmac.new(secret.encode(), label, hashlib.sha256).digest()


def seal(secret: str, label: bytes, data: bytes, bound_to: bytes) -> str:
    """``data`` encrypted and authenticated (AES-256-GCM, a random 96-bit nonce), as text."""
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(_key(secret, label)).encrypt(nonce, data, bound_to)
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal(secret: str, label: bytes, sealed: str, bound_to: bytes) -> bytes | None:
    """What :func:`seal` sealed; None when it was sealed with another secret or label, for
    something else, or was changed."""
    try:
        raw = base64.urlsafe_b64decode(sealed.encode())
        if len(raw) < 12 + 16:
            return None
        return AESGCM(_key(secret, label)).decrypt(raw[:12], raw[12:], bound_to)
    except (InvalidTag, ValueError):
        return None
