"""The demo office shipped with waitboard: Jobcenter Musterstadt, three locations.

Its device tokens are public (``demo-<device id>``), which is why ``WAITBOARD_ENV=production``
refuses to start with any of them.
"""

from __future__ import annotations

import tomllib
from functools import cache

from waitboard.services.auth import token_hash
from waitboard.settings import DEMO_CONFIG


def demo_token(device_id: str) -> str:
    return f"demo-{device_id}"


@cache
def demo_tokens() -> dict[str, str]:
    """device id -> token, for every device of the demo office."""
    raw = tomllib.loads(DEMO_CONFIG.read_text(encoding="utf-8"))
    return {d["id"]: demo_token(d["id"]) for d in raw.get("devices", [])}


@cache
def demo_token_hashes() -> frozenset[str]:
    return frozenset(token_hash(t) for t in demo_tokens().values())
