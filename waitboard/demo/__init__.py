"""The demo office shipped with waitboard: Jobcenter Musterstadt, three locations.

Its device tokens are public (``demo-<device id>``), which is why ``WAITBOARD_ENV=production``
refuses to start with any of them.
"""

from __future__ import annotations

import tomllib
from functools import cache

from waitboard.auth import token_hash
from waitboard.config import Office
from waitboard.settings import DEMO_CONFIG, Settings


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


async def seed(settings: Settings, office: Office) -> None:
    """Give an empty demo day something to show: a few open counters, waiting tickets and
    calls. Runs only when a location has had no activity today; pages label it demo data."""
    from waitboard.store import Store, connect

    assert settings.redis_url
    redis = connect(settings.redis_url, password=settings.redis_password)
    store = Store(redis, office)
    try:
        for n, loc in enumerate(office.locations):
            state = await store.roll_day(loc.id)
            if state.calls or any(q.waiting for q in state.queues.values()) or any(
                    c.open for c in state.counters.values()):
                continue
            counters = [c.id for c in loc.counters][: max(2, len(loc.counters) - 1)]
            for c in counters:
                await store.set_counter(loc.id, c, True)
            for i in range(6 + 3 * n):
                await store.issue(loc.id, loc.queues[i % len(loc.queues)].id, "demo-seed")
            for c in counters[:2]:
                await store.call_next(loc.id, c)
    finally:
        await redis.aclose()
