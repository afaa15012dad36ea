"""Rate limits per client address: a token guesser, a flood, a reconnect loop are slowed,
across every server process; an office's valid devices and staff never are."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, expect
from redis.asyncio import Redis
from websockets.exceptions import InvalidStatus

from tests.helpers import (
    MONDAY_8,
    TIMEOUT,
    SettableClock,
    auth,
    live_server,
    office_with_appointments,
    token,
)
from waitboard.core.office import Office
from waitboard.services.limits import Limit, Limits, charges, client_key
from waitboard.store.embedded import EmbeddedRedis

HTML = {"Accept": "text/html"}
TICKETS = "/api/v1/locations/sued/tickets"


def burst(n: int) -> Limit:
    """``n`` at once, then one a minute: a test's requests meet the limit at its burst,
    however slowly the machine runs."""
    return Limit(per_minute=1, burst=n)


def from_address(address: str) -> dict[str, str]:
    """Tests reach the server through loopback, a trusted proxy: it names the client."""
    return {"X-Forwarded-For": address}


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field in the page"
    return found.group(1)


async def log_in(http: httpx.AsyncClient, secret: str) -> httpx.Response:
    """The login form, sent with ``secret`` as the token (the form's page first)."""
    page = await http.get("/staff/login", headers=HTML)
    return await http.post(
        "/staff/login", headers=HTML, data={"csrf": csrf_of(page.text), "token": secret}
    )


def scope(path: str, method: str = "GET", kind: str = "http", **headers: str) -> dict[str, Any]:
    return {
        "type": kind,
        "path": path,
        "method": method,
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }


def test_the_policy_says_what_counts_against_what() -> None:
    """Handshakes count as handshakes; an unknown token as a failure too; a booking as a
    booking too; a login form only once it has been refused."""
    limits = Limits()
    assert charges(scope("/", kind="websocket"), limits) == {"websocket": limits.websocket}
    assert charges(scope("/locations/sued"), limits) == {"public": limits.public}
    assert charges(scope(TICKETS, "POST", Authorization="Bearer x"), limits) == {
        "public": limits.public,
        "failures": limits.failures,
    }
    assert charges(scope("/locations/sued/appointments/T", "POST"), limits) == {
        "public": limits.public,
        "bookings": limits.bookings,
    }
    assert charges(scope("/staff/login", "POST"), limits) == {}
    assert charges(scope("/staff/login"), limits) == {"public": limits.public}


async def test_limits_hold_across_server_processes(
    redis_server: EmbeddedRedis, redis: Redis
) -> None:
    """Two servers on one Redis share every bucket: requests alternated between them hit
    the public, booking, failed-login and handshake limits at the documented count."""
    clock = SettableClock(MONDAY_8)
    office = office_with_appointments()
    # The documented bursts (bookings: 10 at once), refilling slowly (see SLOW).
    limits = Limits(public=burst(40), websocket=burst(6), failures=burst(10))
    async with (
        live_server(redis_server.url, office, limits=limits, clock=clock) as one,
        live_server(redis_server.url, office, limits=limits, clock=clock) as two,
        httpx.AsyncClient(base_url=one.url, timeout=TIMEOUT) as a,
        httpx.AsyncClient(base_url=two.url, timeout=TIMEOUT) as b,
    ):
        both = (a, b)

        flood = from_address("203.0.113.40")
        public = [
            (await both[i % 2].get("/api/v1/locations", headers=flood)).status_code
            for i in range(41)
        ]
        assert public == [200] * 40 + [429]

        family = from_address("203.0.113.41")
        booked = []
        for n in range(11):
            start = f"2026-12-0{1 + n // 12}T{8 + n % 12 // 3:02d}:{n % 3 * 20:02d}+01:00"
            r = await both[n % 2].post(
                "/api/v1/locations/sued/appointments",
                json={"queue": "T", "start": start},
                headers=family,
            )
            booked.append(r.status_code)
        assert booked == [201] * 10 + [429]  # 10 at once, then one every 3 minutes

        guesser = from_address("203.0.113.42")
        for http in both:
            http.headers.update(guesser)
        logins = [(await log_in(both[i % 2], f"guess-{i}")).status_code for i in range(11)]
        assert logins == [401] * 10 + [429]

        screens = []
        for i in range(7):
            try:
                async with (one, two)[i % 2].ws(
                    "/ws/locations/sued", additional_headers=from_address("203.0.113.43")
                ):
                    screens.append(101)
            except InvalidStatus as e:
                screens.append(e.response.status_code)
        assert screens == [101] * 6 + [429]


async def test_failed_logins_never_lock_out_the_office(
    redis_server: EmbeddedRedis, redis: Redis, office: Office
) -> None:
    """After a dozen failed logins from the office's one address, the right token still
    logs in, a logged-in desk's page still opens, a device with its token still issues;
    only a wrong token is answered 429 with Retry-After (API: problem+json; the login form:
    a page, in German, leading back to the form)."""
    office_address = from_address("198.51.100.20")
    async with (
        live_server(
            redis_server.url, office, limits=Limits(public=burst(100), failures=burst(10))
        ) as srv,
        httpx.AsyncClient(base_url=srv.url, timeout=TIMEOUT, headers=office_address) as desk,
        httpx.AsyncClient(base_url=srv.url, timeout=TIMEOUT, headers=office_address) as mistyper,
        httpx.AsyncClient(base_url=srv.url, timeout=TIMEOUT, headers=office_address) as api,
    ):
        assert (await log_in(desk, token("counter-sued-1"))).status_code == 303
        failed = [(await log_in(mistyper, f"mistyped-{i}")).status_code for i in range(12)]
        assert failed == [401] * 10 + [429, 429]

        logged_in = await log_in(mistyper, token("reception-sued"))
        assert logged_in.status_code == 303
        reception = await mistyper.get(logged_in.headers["location"], headers=HTML)
        assert reception.status_code == 200
        assert (await desk.get("/staff/sued/counters/1", headers=HTML)).status_code == 200
        issued = await api.post(TICKETS, json={"queue": "A"}, headers=auth("terminal-sued"))
        assert issued.status_code == 201
        read = await api.get("/api/v1/locations/sued", headers=auth("display-sued"))
        assert read.status_code == 200

        wrong = await api.post(TICKETS, json={"queue": "A"}, headers={"Authorization": "Bearer x"})
        assert wrong.status_code == 429 and 1 <= int(wrong.headers["retry-after"]) <= 60
        assert wrong.headers["content-type"] == "application/problem+json"
        assert wrong.json()["code"] == "rate_limited"
        async with httpx.AsyncClient(
            base_url=srv.url, timeout=TIMEOUT, headers=office_address
        ) as fresh:
            refused = await log_in(fresh, "mistyped-again")
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
        assert refused.headers["content-type"].startswith("text/html")
        assert "Bitte versuchen Sie es in" in refused.text
        assert 'href="/staff/login"' in refused.text


async def test_a_failed_login_counts_against_the_public_limit_a_right_one_never(
    redis_server: EmbeddedRedis, redis: Redis, office: Office
) -> None:
    """Wrong logins use up the address's public limit too (guessing is bounded by it), yet
    the right token logs in past both limits."""
    limits = Limits(public=burst(4), failures=burst(10))
    async with (
        live_server(redis_server.url, office, limits=limits) as srv,
        httpx.AsyncClient(
            base_url=srv.url, timeout=TIMEOUT, headers={**HTML, **from_address("203.0.113.45")}
        ) as http,
    ):
        csrf = csrf_of((await http.get("/staff/login")).text)  # public: 1 of 4

        async def send(secret: str) -> int:
            r = await http.post("/staff/login", data={"csrf": csrf, "token": secret})
            return r.status_code

        assert [await send(f"guess-{i}") for i in range(4)] == [401, 401, 401, 429]
        assert (await http.get("/")).status_code == 429  # the public limit is used up
        assert await send(token("reception-sued")) == 303


async def test_a_browser_over_the_limit_gets_a_page_in_its_language(
    redis_server: EmbeddedRedis, redis: Redis, office: Office, browser: Browser
) -> None:
    """A page over the limit is a 429 page with Retry-After, in German (in English with
    ?lang=en), saying when to try again, with links to the page and to the start; it comes
    back to the page by itself once the limit allows."""
    # Two at once, then one every 2 s: loads come faster (a slow machine may need a third).
    limits = Limits(public=Limit(per_minute=30, burst=2), websocket=Limit(0, 0))
    cases = [
        ("", "Jobcenter Süd", "Bitte kurz warten", r"in [12]\u00a0Sekunden? noch einmal"),
        (
            "?lang=en",
            "Job centre South",
            "Please wait a moment",
            r"try again in [12]\u00a0seconds?",
        ),
    ]
    async with live_server(redis_server.url, office, limits=limits) as srv:
        for i, (lang, name, title, when) in enumerate(cases):
            context = await browser.new_context(extra_http_headers=from_address(f"203.0.113.5{i}"))
            page = await context.new_page()
            statuses: list[int] = []
            while 429 not in statuses:
                assert len(statuses) < 8, statuses
                response = await page.goto(f"{srv.url}/locations/sued{lang}")
                assert response is not None
                statuses.append(response.status)
            assert statuses[:2] == [200, 200]
            assert response.headers["retry-after"] in ("1", "2")
            # The refused page as it came (it leaves for the page by itself within 2 s).
            html = await response.text()
            assert f"<h1>{title}</h1>" in html and re.search(when, html)
            again = re.search(r'<a class="button" href="([^"]*)">([^<]*)</a>', html)
            start = re.search(r'<a class="button secondary" href="([^"]*)">([^<]*)</a>', html)
            assert again and again.groups() == (
                f"/locations/sued{lang}",
                "Try again" if lang else "Noch einmal versuchen",
            )
            assert start and start.groups() == (
                f"/{lang}",
                "To the start page" if lang else "Zur Startseite",
            )
            await expect(page.locator("h1")).to_have_text(name, timeout=TIMEOUT * 1000)
            await context.close()


async def test_a_form_over_the_limit_gets_a_page_back_to_the_form(
    redis_server: EmbeddedRedis, redis: Redis
) -> None:
    """The booking form sent past the limit: a 429 page saying when to try again (German,
    English with ?lang=en) with a link back to the form; the API's booking gets
    problem+json."""
    async with (
        live_server(
            redis_server.url,
            office_with_appointments(),
            limits=Limits(),
            clock=SettableClock(MONDAY_8),
        ) as srv,
        httpx.AsyncClient(base_url=srv.url, timeout=TIMEOUT) as http,
    ):
        form = "/locations/sued/appointments/T"
        for _ in range(10):  # unfinished forms count: each one could have booked
            r = await http.post(form, data={"start": ""}, headers=from_address("203.0.113.60"))
            assert r.status_code == 422
        unfinished = {"start": ""}
        german = await http.post(form, data=unfinished, headers=from_address("203.0.113.60"))
        english = await http.post(
            f"{form}?lang=en", data=unfinished, headers=from_address("203.0.113.60")
        )
        api = await http.post(
            "/api/v1/locations/sued/appointments",
            json={"queue": "T", "start": "2026-12-01T08:00+01:00"},
            headers=from_address("203.0.113.60"),
        )
    assert german.status_code == english.status_code == api.status_code == 429
    assert 170 < int(german.headers["retry-after"]) <= 180
    assert "in 3\u00a0Minuten noch einmal" in german.text
    assert f'href="{form}"' in german.text and "Noch einmal versuchen" in german.text
    assert "try again in 3\u00a0minutes" in english.text
    assert f'href="{form}?lang=en"' in english.text
    assert api.headers["content-type"] == "application/problem+json"
    assert api.json()["code"] == "rate_limited" and int(api.headers["retry-after"]) > 170


async def test_a_flood_of_public_requests_is_slowed(
    redis_server: EmbeddedRedis, redis: Redis, office: Office
) -> None:
    """Past its burst one address gets 429; others, health checks and devices do not."""
    limits = Limits(public=burst(5))
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
            TICKETS, json={"queue": "A"}, headers={**auth("terminal-sued"), **flood}
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
    limits = Limits(public=burst(5))
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
    """Handshakes past the burst are refused with 429; a logged-in lobby screen at the same
    address is not, nor is another address."""
    limits = Limits(websocket=burst(2))
    looping = from_address("203.0.113.10")
    async with (
        live_server(redis_server.url, office, limits=limits) as srv,
        httpx.AsyncClient(base_url=srv.url, timeout=TIMEOUT, headers=looping) as screen,
    ):
        for _ in range(2):
            async with srv.ws("/ws/locations/sued", additional_headers=looping):
                pass
        with pytest.raises(InvalidStatus) as info:
            async with srv.ws("/ws/locations/sued", additional_headers=looping):
                pass
        assert info.value.response.status_code == 429
        assert int(info.value.response.headers["retry-after"]) >= 1
        assert (await log_in(screen, token("display-sued"))).status_code == 303
        cookie = "; ".join(f"{k}={v}" for k, v in screen.cookies.items())
        for _ in range(3):
            async with srv.ws(
                "/ws/locations/sued", additional_headers={**looping, "Cookie": cookie}
            ):
                pass
        async with srv.ws("/ws/locations/sued", additional_headers=from_address("198.51.100.4")):
            pass


async def test_a_made_up_token_does_not_lift_the_public_limit(
    redis_server: EmbeddedRedis, redis: Redis, office: Office
) -> None:
    """Only a configured device's token is let past the public limit: an invented
    'Authorization' header is counted like any public request (and as a failure)."""
    limits = Limits(public=burst(5))
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
                headers=from_address(address),
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


async def test_redis_unreachable_leaves_the_public_pages_up(tmp_path: Path, office: Office) -> None:
    """With Redis stopped, the limits let requests through: a public page that needs no
    Redis still answers, past what its limit would allow; the metrics count the unchecked
    requests."""
    redis = EmbeddedRedis(tmp_path / "redis").start()
    limits = Limits(public=burst(2))
    try:
        async with (
            live_server(redis.url, office, limits=limits) as srv,
            httpx.AsyncClient(base_url=srv.url, timeout=TIMEOUT, headers=HTML) as http,
        ):
            assert (await http.get("/status")).status_code == 200
            redis.stop()
            # The status lookup's form needs nothing from Redis: only the limit could fail it.
            statuses = [(await http.get("/status")).status_code for _ in range(4)]
            metrics = (await http.get("/metrics")).text
    finally:
        redis.stop()
    assert statuses == [200] * 4
    unchecked = re.search(r"^waitboard_rate_limit_unavailable_total (\S+)$", metrics, re.M)
    assert unchecked and float(unchecked.group(1)) >= 4
