"""store/keys/ is the one place of the keys: a location's scripts write no key it does not
build, and they find each of its own keys where it passes them."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

from redis.asyncio import Redis

from tests.helpers import MONDAY_8, SettableClock, office_with_appointments
from waitboard.core.domain import Action
from waitboard.store import keys
from waitboard.store.idempotency import Idempotency
from waitboard.store.office_store import Store

#: The type of each of a location's own keys (keys/locations.py's table), in LOCATION_KEYS order.
OWN_KEY_TYPES = ("hash", "stream", "list", "hash", "set", "hash", "list", "set", "hash", "stream")


def template_pattern(pieces: list[str]) -> re.Pattern[str]:
    """A template (the text around its values) as a pattern of the keys it names."""
    return re.compile("[^:]+".join(re.escape(p) for p in pieces))


async def busy_day(store: Store, clock: SettableClock) -> None:
    """Tickets issued, called, served, transferred; a booking made, moved, checked in and
    another cancelled; a door count; an estimate noted."""
    idem = Idempotency(keys.idempotency("sued", "terminal-sued", "k1"), "fp")
    first = (await store.issue("sued", "A", "terminal-sued", idem)).ticket
    second = (await store.issue("sued", "B", "terminal-sued")).ticket
    assert first and second
    await store.note_estimate("sued", first.id, 300)  # (called, it calibrates the ranges)
    await store.set_counter("sued", "1", True)
    await store.set_counter("sued", "2", True)
    await store.call_next("sued", "1")
    await store.act(first.id, Action.START, counters=["1"])
    await store.act(first.id, Action.COMPLETE, counters=["1"])
    await store.act(second.id, Action.TRANSFER, counters=None, queue="A")
    await store.set_occupancy("sued", "wartebereich", 7)
    day = clock.now.astimezone(store.office.tz).date().isoformat()
    slot = int((clock.now + timedelta(minutes=20)).timestamp() * 1000)
    keep = slot + 2 * 86_400_000
    kept, gone = hashlib.sha256(b"kept").hexdigest(), hashlib.sha256(b"gone").hexdigest()
    await store.book("sued", "T", slot, day, kept, keep, contact="a@example.org")
    await store.book("sued", "T", slot, day, gone, keep)
    await store.move_booking(
        "sued", kept, slot_ms=slot + 1_200_000, slot_day=day, capacity=3, keep_until_ms=keep
    )
    await store.move_booking("sued", gone)
    await store.check_in(
        "sued", kept, "terminal-sued", early_ms=3_600_000, late_ms=600_000, walk_in="A"
    )


async def test_every_key_a_location_script_writes_is_one_keys_py_builds(redis: Redis) -> None:
    """After a busy day and the next one's start, each key of the location is one of its
    own, a queue's or a counter's of the layout, an Idempotency-Key record, or one a
    template names."""
    clock = SettableClock(MONDAY_8 + timedelta(hours=1))
    office = office_with_appointments()
    store = Store(redis, office, clock)
    await busy_day(store, clock)
    clock.now += timedelta(days=1)
    await store.roll_day("sued")  # (what is left open closes; the show-up shares learned)
    loc = office.location_by_id["sued"]
    passed = set(keys.location_keys("sued")) | set(
        keys.layout_keys("sued", loc.layout.queues, list(loc.layout.counters))
    )
    templates = [template_pattern(t) for t in keys.location_templates("sued").values()]
    idempotency = re.compile(re.escape(keys.prefix("sued")) + "idem:[0-9a-f]{64}")
    written = {k.decode() async for k in redis.scan_iter(match="wb:{sued}:*")}
    unknown = {
        k
        for k in written - passed
        if not idempotency.fullmatch(k) and not any(t.fullmatch(k) for t in templates)
    }
    assert not unknown, unknown
    for name in ("stats", "waits", "ticket", "booking", "slots", "expect", "day_bookings"):
        pattern = template_pattern(keys.location_templates("sued")[name])
        assert any(pattern.fullmatch(k) for k in written), f"no {name} key written"


async def test_a_location_s_own_keys_hold_what_keys_py_says(redis: Redis) -> None:
    """The scripts take KEYS[1..10] in keys.LOCATION_KEYS order: each own key has its type."""
    clock = SettableClock(MONDAY_8 + timedelta(hours=1))
    store = Store(redis, office_with_appointments(), clock)
    await busy_day(store, clock)
    own = keys.location_keys("sued")
    assert len(own) == len(OWN_KEY_TYPES)
    for key, kind in zip(own, OWN_KEY_TYPES, strict=True):
        assert (await redis.type(key)).decode() == kind, key
