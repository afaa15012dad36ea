"""The Idempotency-Key of a command: where its answer is kept and what request it answered.

A retry under the same key gets the stored answer and changes nothing; another request
under that key is refused (the scripts' ``replay``, ``lib.lua``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Idempotency:
    key: str  # the Redis key (scoped per device)
    fingerprint: str  # sha256 of method, path and body

    @staticmethod
    def fingerprint_of(method: str, path: str, canonical: bytes) -> str:
        """Identifies a request for Idempotency-Key reuse: the same method, address and
        (canonical) body - the same meaning - give the same fingerprint."""
        return hashlib.sha256(
            method.encode() + b" " + path.encode() + b"\n" + canonical
        ).hexdigest()
