"""The rate limiter against a real Redis: bursts, refill, Retry-After, expiry, privacy."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from redis.asyncio import Redis

from tests.helpers import eventually
from waitboard.core.application_pins import keyed_digest
from waitboard.metrics import Metrics
from waitboard.store.embedded import EmbeddedRedis
from waitboard.store.keys import rate_limit
from waitboard.store.limits import Limit, Limiter
from waitboard.store.redis import connect

ADDRESS = "203.0.113.77"
#: Two at once, then one a second.
TWO_A_SECOND = Limit(per_minute=60, burst=2)


class Clock:
    """Milliseconds the test moves on by hand (Redis' own clock is the default)."""

    def __init__(self) -> None:
        self.ms = 1_800_000_000_000

    def __call__(self) -> int:
        return self.ms


def limiter(redis: Redis, clock: Clock | None = None) -> Limiter:
    return Limiter(redis, "test-secret", Metrics(), now_ms=clock)


async def test_a_burst_then_one_per_interval_with_the_wait_until_the_next(redis: Redis) -> None:
    """A bucket of 2 at 60 a minute allows two at once; the third is told to wait exactly
    until a request is allowed again, which it then is; another address is not affected."""
    clock = Clock()
    limits = limiter(redis, clock)
    buckets = {"public": TWO_A_SECOND}
    assert [await limits.take("address", ADDRESS, buckets) for _ in range(2)] == [0.0, 0.0]
    assert await limits.take("address", ADDRESS, buckets) == pytest.approx(1.0)
    clock.ms += 400
    assert await limits.take("address", ADDRESS, buckets) == pytest.approx(0.6)
    assert await limits.take("address", "198.51.100.1", buckets) == 0.0
    clock.ms += 600
    assert await limits.take("address", ADDRESS, buckets) == 0.0
    assert await limits.take("address", ADDRESS, buckets) == pytest.approx(1.0)
    clock.ms += 10_000  # a long pause refills the burst, not more
    assert [await limits.take("address", ADDRESS, buckets) for _ in range(3)] == [0, 0, 1.0]


async def test_buckets_refill_on_the_redis_servers_clock(redis: Redis) -> None:
    """Without a clock of its own the limiter counts on Redis' TIME (as every process does):
    a full bucket is refused, then allowed again once its interval has passed."""
    limits = limiter(redis)
    buckets = {"public": Limit(per_minute=60, burst=1)}  # one a second
    waits = [await limits.take("address", ADDRESS, buckets)]
    while waits[-1] == 0:  # the next one within the second (a slow machine may need two)
        assert len(waits) < 5, waits
        waits.append(await limits.take("address", ADDRESS, buckets))
    assert waits[0] == 0 and 0 < waits[-1] <= 1.0

    async def allowed() -> bool:
        return await limits.take("address", ADDRESS, buckets) == 0.0

    await eventually(allowed, "the bucket to refill")


async def test_a_request_is_charged_to_all_its_buckets_or_to_none(redis: Redis) -> None:
    """Refused by one full bucket, a request costs nothing in the others."""
    clock = Clock()
    limits = limiter(redis, clock)
    one = {"bookings": Limit(per_minute=1, burst=1)}
    both = {"public": TWO_A_SECOND, **one}
    assert await limits.take("address", ADDRESS, both) == 0.0
    assert await limits.take("address", ADDRESS, both) == pytest.approx(60.0)
    assert await limits.take("address", ADDRESS, {"public": TWO_A_SECOND}) == 0.0  # one left
    assert await limits.take("address", ADDRESS, {"public": TWO_A_SECOND}) > 0


async def test_giving_back_undoes_a_take_and_never_adds_room(redis: Redis) -> None:
    """A request given back (a right PIN) frees its place; giving back to a bucket at rest
    leaves it at rest (its burst, not one more), and leaves no key behind."""
    clock = Clock()
    limits = limiter(redis, clock)
    buckets = {"lookup": TWO_A_SECOND}
    key = limits.key("address", ADDRESS, "lookup")
    await limits.take("address", ADDRESS, buckets)
    await limits.take("address", ADDRESS, buckets)
    await limits.give_back("address", ADDRESS, buckets)
    assert await limits.take("address", ADDRESS, buckets) == 0.0
    assert await limits.take("address", ADDRESS, buckets) > 0
    clock.ms += 5_000
    await limits.give_back("address", ADDRESS, buckets)
    assert await redis.exists(key) == 0
    assert [await limits.take("address", ADDRESS, buckets) for _ in range(3)] == [0, 0, 1.0]


async def test_keys_expire_when_at_rest_and_name_no_address(redis: Redis) -> None:
    """A bucket's key is named by a keyed digest of the address (the address is nowhere in
    Redis) and expires the moment the bucket is at rest again."""
    limits = limiter(redis)
    slow = {"bookings": Limit(per_minute=20 / 60, burst=10)}  # one every 3 minutes
    await limits.take("address", ADDRESS, {"public": TWO_A_SECOND, **slow})
    await limits.take("address", "2001:db8:1:2::/64", slow)
    names = [key async for key in redis.scan_iter(count=1000)]
    assert len(names) == 3
    assert all(re.fullmatch(rb"wb:rl:\{[0-9a-f]{64}\}:(public|bookings)", k) for k in names)
    for key in names:
        assert ADDRESS.encode() not in key + (await redis.get(key) or b"")
        assert b"2001" not in key
    public = rate_limit(keyed_digest("test-secret", "address", ADDRESS), "public")
    bookings = rate_limit(keyed_digest("test-secret", "address", ADDRESS), "bookings")
    assert public.encode() in names and bookings.encode() in names
    assert 0 < await redis.pttl(public) <= 1_000  # one request's interval
    assert 170_000 < await redis.pttl(bookings) <= 180_000

    async def gone() -> bool:
        return await redis.exists(public) == 0

    await eventually(gone, "the public bucket's key to expire")


async def test_redis_unreachable_lets_requests_through(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """With Redis stopped every request is let through and counted as unchecked, and the
    outage is logged once, without the address."""
    server = EmbeddedRedis(tmp_path / "redis").start()
    client = connect(server.url)
    metrics = Metrics()
    limits = Limiter(client, "test-secret", metrics)
    buckets = {"public": Limit(per_minute=1, burst=1)}
    try:
        assert await limits.take("address", ADDRESS, buckets) == 0.0
        assert await limits.take("address", ADDRESS, buckets) > 0
        server.stop()
        assert [await limits.take("address", ADDRESS, buckets) for _ in range(5)] == [0.0] * 5
        await limits.give_back("address", ADDRESS, buckets)
    finally:
        await client.aclose()
        server.stop()
    warnings = [r for r in caplog.records if r.name == "waitboard.store.limits"]
    assert [r.levelname for r in warnings] == ["WARNING"]
    assert ADDRESS not in str(warnings[0].__dict__)
    rendered = metrics.render().decode()
    assert "waitboard_rate_limit_unavailable_total 6.0" in rendered
    assert 'waitboard_rate_limited_total{bucket="public"} 1.0' in rendered
