"""Rate limits per client address: a token guesser, a flood, a reconnect loop are slowed;
everyone else is not."""

from __future__ import annotations

import httpx
import pytest
from redis.asyncio import Redis
from websockets.exceptions import InvalidStatus

from tests.conftest import (
    MONDAY_8,
    TIMEOUT,
    SettableClock,
    auth,
    live_server,
    office_with_appointments,
)
from waitboard.config import Office
from waitboard.embedded_redis import EmbeddedRedis
from waitboard.ratelimit import Buckets, Limit, Limits, client_key


def from_address(address: str) -> dict[str, str]:
    """Tests reach the server through loopback, a trusted proxy: it names the client."""
    return {"X-Forwarded-For": address}


def test_buckets_refill_over_time() -> None:
    """A bucket of 2 allows two at once, then one per refill interval."""
    now = [0.0]
    buckets = Buckets(Limit(per_minute=60, burst=2), clock=lambda: now[0])
    assert buckets.take("a") == 0 and buckets.take("a") == 0
    assert buckets.take("a") == pytest.approx(1.0)  # one token a second
    assert buckets.take("b") == 0  # others are not affected
    now[0] += 1.0
    assert buckets.take("a") == 0


async def test_the_11th_wrong_token_in_a_minute_is_refused(
    redis_server: EmbeddedRedis, redis: Redis, office: Office
) -> None:
    """Ten failures pass (401); the 11th - and a right token from that address - get 429
    with Retry-After; another address is not affected."""
    async with (
        live_server(redis_server.url, office) as srv,
        httpx.AsyncClient(base_url=srv.url, timeout=TIMEOUT) as http,
    ):
        guesser = from_address("203.0.113.7")
        for i in range(10):
            r = await http.post(
                "/api/v1/locations/sued/tickets",
                json={"queue": "A"},
                headers={"Authorization": f"Bearer guess-{i}", **guesser},
            )
            assert r.status_code == 401
        refused = await http.post(
            "/api/v1/locations/sued/tickets",
            json={"queue": "A"},
            headers={"Authorization": "Bearer guess-10", **guesser},
        )
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["code"] == "rate_limited"
        blocked = await http.post(
            "/api/v1/locations/sued/tickets",
            json={"queue": "A"},
            headers={**auth("terminal-sued"), **guesser},
        )
        assert blocked.status_code == 429
        fine = await http.post(
            "/api/v1/locations/sued/tickets",
            json={"queue": "A"},
            headers={**auth("terminal-sued"), **from_address("198.51.100.2")},
        )
        assert fine.status_code == 201


async def test_staff_login_failures_count_too(
    redis_server: EmbeddedRedis, redis: Redis, office: Office
) -> None:
    """Guessing tokens at the login form is limited like the API."""
    async with (
        live_server(redis_server.url, office) as srv,
        httpx.AsyncClient(
            base_url=srv.url, timeout=TIMEOUT, headers=from_address("203.0.113.8")
        ) as http,
    ):
        statuses = []
        for i in range(12):
            page = await http.get("/staff/login", headers={"Accept": "text/html"})
            csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
            r = await http.post(
                "/staff/login", data={"csrf": csrf, "token": f"guess-{i}", "next": ""}
            )
            statuses.append(r.status_code)
        assert statuses[:10] == [401] * 10
        assert statuses[10:] == [429, 429]


async def test_a_flood_of_public_requests_is_slowed(
    redis_server: EmbeddedRedis, redis: Redis, office: Office
) -> None:
    """Past its burst one address gets 429; others, health checks and devices do not."""
    limits = Limits(public=Limit(per_minute=60, burst=5))
    async with (
        live_server(redis_server.url, office, limits=limits) as srv,
        httpx.AsyncClient(base_url=srv.url, timeout=TIMEOUT) as http,
    ):
        flood = from_address("203.0.113.9")
        statuses = [
            (await http.get("/api/v1/locations", headers=flood)).status_code for _ in range(8)
        ]
        assert statuses[:5] == [200] * 5 and set(statuses[5:]) == {429}
        assert (
            await http.get("/api/v1/locations", headers=from_address("198.51.100.3"))
        ).status_code == 200
        assert (await http.get("/readyz", headers=flood)).status_code == 200
        device = await http.post(
            "/api/v1/locations/sued/tickets",
            json={"queue": "A"},
            headers={**auth("terminal-sued"), **flood},
        )
        assert device.status_code == 201  # a device with a valid token is not a flood


def test_an_ipv6_client_counts_by_its_64_network() -> None:
    """Any address in one /64 is one client; IPv4, also as a dual-stack socket sees it, is
    counted by its address; a unix socket's peer name stays as it is."""
    assert client_key("2001:db8:1:2::7") == client_key("2001:DB8:1:2:ffff:1:2:3")
    assert client_key("2001:db8:1:2::7") == "2001:db8:1:2::/64"
    assert client_key("2001:db8:1:2::7") != client_key("2001:db8:1:3::7")
    assert client_key("::ffff:198.51.100.3") == client_key("198.51.100.3") == "198.51.100.3"
    assert client_key("198.51.100.3") != client_key("198.51.100.4")
    assert client_key("unknown") == "unknown"


async def test_new_ipv6_addresses_from_one_network_do_not_lift_the_limit(
    redis_server: EmbeddedRedis, redis: Redis, office: Office
) -> None:
    """A client that takes a fresh address of its /64 for every request is still slowed
    past its burst; a client in another /64 is not."""
    limits = Limits(public=Limit(per_minute=60, burst=5))
    async with (
        live_server(redis_server.url, office, limits=limits) as srv,
        httpx.AsyncClient(base_url=srv.url, timeout=TIMEOUT) as http,
    ):
        statuses = [
            (
                await http.get(
                    "/api/v1/locations", headers=from_address(f"2001:db8:7:7::{i + 1:x}")
                )
            ).status_code
            for i in range(8)
        ]
        assert statuses[:5] == [200] * 5 and set(statuses[5:]) == {429}
        other = await http.get("/api/v1/locations", headers=from_address("2001:db8:7:8::1"))
        assert other.status_code == 200


async def test_a_websocket_reconnect_loop_is_slowed(
    redis_server: EmbeddedRedis, redis: Redis, office: Office
) -> None:
    """Handshakes past the burst are refused with 429 (the lobby's screens are not)."""
    limits = Limits(websocket=Limit(per_minute=6, burst=2))
    async with live_server(redis_server.url, office, limits=limits) as srv:
        for _ in range(2):
            async with srv.ws(
                "/ws/locations/sued", additional_headers=from_address("203.0.113.10")
            ):
                pass
        with pytest.raises(InvalidStatus) as info:
            async with srv.ws(
                "/ws/locations/sued", additional_headers=from_address("203.0.113.10")
            ):
                pass
        assert info.value.response.status_code == 429
        async with srv.ws("/ws/locations/sued", additional_headers=from_address("198.51.100.4")):
            pass


async def test_a_made_up_token_does_not_lift_the_public_limit(
    redis_server: EmbeddedRedis, redis: Redis, office: Office
) -> None:
    """Only a configured device's token is let past the public limit: an invented
    'Authorization' header is counted like any public request."""
    limits = Limits(public=Limit(per_minute=60, burst=5))
    async with (
        live_server(redis_server.url, office, limits=limits) as srv,
        httpx.AsyncClient(base_url=srv.url, timeout=TIMEOUT) as http,
    ):
        bogus = [
            (
                await http.get(
                    "/api/v1/locations/sued",
                    headers={**from_address("203.0.113.20"), "Authorization": "Bearer made-up"},
                )
            ).status_code
            for _ in range(8)
        ]
        device = [
            (
                await http.get(
                    "/api/v1/locations/sued",
                    headers={**from_address("203.0.113.21"), **auth("reception-sued")},
                )
            ).status_code
            for _ in range(8)
        ]
    assert bogus[:5] == [200] * 5 and set(bogus[5:]) == {429}
    assert device == [200] * 8


async def test_one_address_cannot_book_out_the_slots(
    redis_server: EmbeddedRedis, redis: Redis
) -> None:
    """Past a family's few bookings, one address gets 429 and books nothing more; another
    address still books."""
    async with (
        live_server(
            redis_server.url,
            office_with_appointments(),
            limits=Limits(),
            clock=SettableClock(MONDAY_8),
        ) as srv,
        httpx.AsyncClient(base_url=srv.url, timeout=TIMEOUT) as http,
    ):

        async def book(address: str, n: int) -> int:
            r = await http.post(
                "/api/v1/locations/sued/appointments",
                headers={**from_address(address), "Authorization": "Bearer made-up"},
                json={
                    "queue": "T",
                    "start": f"2026-12-0{1 + n // 12}T{8 + n % 12 // 3:02d}:{n % 3 * 20:02d}+01:00",
                },
            )
            return r.status_code

        first = [await book("203.0.113.30", n) for n in range(12)]
        other = await book("203.0.113.31", 12)
    assert first[:10] == [201] * 10 and first[10:] == [429, 429]
    assert other == 201
