"""A public booking's Idempotency-Key answers only the client that used it.

A booking's code is derived from its key, so a key sent again by anybody else must get
neither the booking nor its code: the API binds the key to the client's address (as the
rate limits count it), the booking pages to a random client cookie, else the address.
Clients are told apart the way the service sees them behind its reverse proxy: the tests
reach uvicorn through loopback, a trusted proxy, and name the client in X-Forwarded-For.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from tests.appointments.support import (
    BOOK,
    FORM,
    HTML,
    Env,
    everything_in,
    free_at,
    problem,
    slot,
)
from tests.helpers import (
    MONDAY_8,
    TIMEOUT,
    SettableClock,
    dataset,
    live_server,
    office_with_appointments,
)
from waitboard.store.embedded import EmbeddedRedis

COOKIE = "waitboard_booking"
FIRST, OTHER = "198.51.100.7", "203.0.113.9"
BOOKED_PAGE = re.compile(r"/appointments/([2-9A-Z]{4}-[2-9A-Z]{4})\?new=1(&lang=en)?")


def from_address(address: str) -> dict[str, str]:
    """The client's address as the trusted proxy (loopback) forwards it."""
    return {"X-Forwarded-For": address}


@pytest.fixture
async def env(redis_server: EmbeddedRedis, redis: Redis) -> AsyncIterator[Env]:
    clock = SettableClock(MONDAY_8)
    async with (
        live_server(redis_server.url, office_with_appointments(), clock=clock) as srv,
        httpx.AsyncClient(base_url=srv.url, timeout=TIMEOUT) as http,
    ):
        yield Env(http, clock, redis, srv.url)


async def book_from(http: httpx.AsyncClient, address: str, key: str, **body: str) -> httpx.Response:
    return await http.post(
        BOOK,
        json={"queue": "T", "start": slot("09:00"), **body},
        headers={"Idempotency-Key": key, **from_address(address)},
    )


def assert_no_code(r: httpx.Response, code: str) -> None:
    """The answer shows the code nowhere: not in its body, not in a header."""
    shown = r.text + " ".join(f"{k}: {v}" for k, v in r.headers.items())
    for form in {code, code.replace("-", ""), code.lower(), code.replace("-", "").lower()}:
        assert form not in shown, f"the code {form} is in the answer"


# --- the API --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "other",
    [{}, {"start": slot("09:20")}, {"contact": "anna@example.org"}],
    ids=["same body", "other slot", "other contact"],
)
async def test_the_apis_key_sent_from_another_address_gets_409_and_no_code(
    env: Env, other: dict[str, str]
) -> None:
    """Another client sending a key that is in use (with the same booking or another) gets
    409 idempotency_key_in_use with a message to use a new key, never the booking or its
    code, and nothing is booked; the first client's retry still finds its booking."""
    first = await book_from(env.http, FIRST, "1")
    assert first.status_code == 201, first.text
    code = first.json()["code"]
    before = await dataset(env.redis)

    r = await book_from(env.http, OTHER, "1", **other)
    body = problem(r, 409, "idempotency_key_in_use", says="Use a new key")
    assert "another client" in body["detail"]
    assert_no_code(r, code)
    assert "location" not in r.headers and "idempotent-replayed" not in r.headers
    assert await dataset(env.redis) == before, "a refused replay changed Redis"

    again = await book_from(env.http, FIRST, "1")
    assert again.status_code == 201, again.text
    assert again.json()["code"] == code and again.headers["idempotent-replayed"] == "true"
    assert await free_at(env.http, slot("09:00")) == 2


async def test_a_key_in_use_is_refused_after_its_slot_became_too_soon(env: Env) -> None:
    """Once the booked slot is within the notice period, a retry from the first client
    still finds its booking, and the key from another client still gets 409 and no code."""
    first = await book_from(env.http, FIRST, "slow", start=slot("08:40"))
    assert first.status_code == 201, first.text
    env.at("08:15")  # 08:40 is now within the 30 minutes' notice
    r = await book_from(env.http, OTHER, "slow", start=slot("08:40"))
    problem(r, 409, "idempotency_key_in_use")
    assert_no_code(r, first.json()["code"])
    again = await book_from(env.http, FIRST, "slow", start=slot("08:40"))
    assert again.status_code == 201 and again.json()["code"] == first.json()["code"]


async def test_an_ipv6_client_retries_from_any_address_of_its_64_network(env: Env) -> None:
    """An IPv6 client is one client across its /64 (phones change addresses within it); a
    client of another /64 is another client."""
    first = await book_from(env.http, "2001:db8:1:2::10", "v6")
    assert first.status_code == 201, first.text
    again = await book_from(env.http, "2001:db8:1:2:abcd::99", "v6")
    assert again.status_code == 201 and again.json()["code"] == first.json()["code"]
    problem(await book_from(env.http, "2001:db8:1:3::10", "v6"), 409, "idempotency_key_in_use")


async def test_the_openapi_document_says_whom_a_public_key_belongs_to(env: Env) -> None:
    """The booking endpoint's Idempotency-Key says it is bound to the client's address
    (IPv6 by /64) and what another client gets; a device's key says it is the device's."""
    doc = (await env.http.get("/api/v1/openapi.json")).json()

    def key_text(path: str) -> str:
        params = doc["paths"][path]["post"]["parameters"]
        text: str = next(p for p in params if p["name"] == "Idempotency-Key")["description"]
        return text

    public = key_text("/api/v1/locations/{location}/appointments")
    assert "address" in public and "/64" in public and "409 idempotency_key_in_use" in public
    assert "device" in key_text("/api/v1/locations/{location}/tickets")


# --- the booking pages ----------------------------------------------------------------------


def client_cookie(r: httpx.Response) -> str:
    """The Set-Cookie line of the booking client's cookie (exactly one)."""
    lines = [c for c in r.headers.get_list("set-cookie") if c.startswith(COOKIE + "=")]
    assert len(lines) == 1, r.headers.get_list("set-cookie")
    return lines[0]


async def test_the_booking_form_sets_a_first_party_random_client_cookie(
    env: Env, redis_server: EmbeddedRedis
) -> None:
    """Where the booking form is shown, the browser gets a random id in a cookie that
    scripts and other sites cannot use (HttpOnly, SameSite=Lax), that goes to the location's
    booking pages only and lasts a day from the form last shown; it is kept while it lasts
    and HTTPS-only in production."""
    first = await env.http.get(FORM, headers=HTML)
    line = client_cookie(first)
    value = re.match(rf"{COOKIE}=([^;]+);", line)
    assert value and re.fullmatch(r"[A-Za-z0-9_-]{24}", value.group(1)), line
    attributes = {a.strip().lower() for a in line.split(";")[1:]}
    assert {
        "httponly",
        "samesite=lax",
        "path=/locations/sued/appointments",
        "max-age=86400",
    } <= attributes
    assert "secure" not in attributes and not any(a.startswith("domain") for a in attributes)
    again = await env.http.get(FORM + "?date=2026-12-01", headers=HTML)  # (sends it back)
    assert client_cookie(again).startswith(f"{COOKIE}={value.group(1)};")
    assert "set-cookie" not in (await env.http.get("/locations/sued", headers=HTML)).headers

    async with (
        live_server(redis_server.url, office_with_appointments(), env="production") as prod,
        httpx.AsyncClient(base_url=prod.url, timeout=TIMEOUT) as http,
    ):
        page = await http.get(FORM, headers=HTML)
        assert "secure" in {a.strip().lower() for a in client_cookie(page).split(";")}


async def form_of(http: httpx.AsyncClient, address: str, path: str = FORM) -> dict[str, str]:
    """The booking form as this client gets it (its cookie kept by ``http``), 09:00 picked."""
    page = await http.get(path, headers={**HTML, **from_address(address)})
    key = re.search(r'name="key" value="([^"]+)"', page.text)
    assert key, page.text[:500]
    return {"key": key.group(1), "date": "2026-11-30", "start": slot("09:00"), "contact": ""}


async def post_form(
    http: httpx.AsyncClient, address: str, form: dict[str, str], path: str = FORM
) -> httpx.Response:
    return await http.post(path, headers={**HTML, **from_address(address)}, data=form)


async def booked_code(http: httpx.AsyncClient, r: httpx.Response) -> str:
    """The code of the booking a form's answer leads to."""
    assert r.status_code == 303, r.text[:500]
    found = BOOKED_PAGE.fullmatch(r.headers["location"])
    assert found, r.headers["location"]
    return found.group(1)


@pytest.mark.parametrize(
    ("lang", "says"),
    [
        ("de", "Dieses Formular wurde schon in einem anderen Browser"),
        ("en", "This form was already sent from another browser"),
    ],
)
async def test_a_form_sent_again_by_another_browser_books_nothing_and_shows_no_code(
    env: Env, lang: str, says: str
) -> None:
    """The same form (key and fields) from a browser without the first one's cookie, even
    on the same network, gets the form again with 409 and a message in the reader's
    language, no code and nothing booked; the first browser gets its booking again, also
    from another network."""
    path = FORM + ("?lang=en" if lang == "en" else "")
    async with (
        httpx.AsyncClient(base_url=env.url, timeout=TIMEOUT) as first,
        httpx.AsyncClient(base_url=env.url, timeout=TIMEOUT) as second,
    ):
        form = await form_of(first, FIRST, path)
        code = await booked_code(first, await post_form(first, FIRST, form, path))
        before = await dataset(env.redis)

        r = await post_form(second, FIRST, form, path)
        assert r.status_code == 409, r.text[:500]
        assert r.headers["content-type"].startswith("text/html")
        assert says in r.text and 'role="alert"' in r.text
        assert_no_code(r, code)
        new_key = re.search(r'name="key" value="([^"]+)"', r.text)
        assert new_key and new_key.group(1) != form["key"], "the form again, with a new key"
        assert re.search(rf'value="{re.escape(slot("09:00"))}"[^>]*checked', r.text)
        assert await dataset(env.redis) == before, "the replay booked something"

        retry = await post_form(first, OTHER, form, path)  # (the phone left the WiFi)
        assert await booked_code(first, retry) == code
    assert await free_at(env.http, slot("09:00")) == 2


async def test_without_the_cookie_a_form_is_bound_to_the_clients_address(env: Env) -> None:
    """A browser that refuses the cookie gets its booking again from its own address; the
    same form from another address books nothing and shows no code."""
    form = await form_of(env.http, FIRST)
    env.http.cookies.clear()  # (a browser that keeps no cookie)
    code = await booked_code(env.http, await post_form(env.http, FIRST, form))
    assert await booked_code(env.http, await post_form(env.http, FIRST, form)) == code
    other = await post_form(env.http, OTHER, form)
    assert other.status_code == 409 and COOKIE in other.headers.get("set-cookie", "")
    assert_no_code(other, code)
    assert await free_at(env.http, slot("09:00")) == 2


async def test_redis_keeps_only_a_keyed_digest_of_the_client(env: Env) -> None:
    """A booking made under a key records its client as a digest keyed with the server's
    secret: neither the cookie's id nor the address is in Redis, not even hashed plainly;
    one client's bookings share the digest, another client's differ."""
    page = await env.http.get(FORM, headers={**HTML, **from_address(FIRST)})
    cookie_id = client_cookie(page).split(";")[0].split("=", 1)[1]
    form = await form_of(env.http, FIRST)
    await booked_code(env.http, await post_form(env.http, FIRST, form))
    await booked_code(env.http, await post_form(env.http, FIRST, {**form, "key": "second"}))
    assert (await book_from(env.http, OTHER, "api-1", start=slot("09:20"))).status_code == 201
    assert (await book_from(env.http, OTHER, "api-2", start=slot("09:40"))).status_code == 201

    clients = await booking_clients(env.redis)
    assert len(clients) == 4 and len(set(clients)) == 2, clients
    assert all(re.fullmatch(r"[0-9a-f]{64}", c) for c in clients), clients
    clear = {cookie_id, FIRST, OTHER}
    plain = {hashlib.sha256(s.encode()).hexdigest() for s in clear}
    for blob in await everything_in(env.redis):
        for value in clear | plain:
            assert value.encode() not in blob, f"{value} is in Redis"


async def booking_clients(redis: Redis) -> list[str]:
    """The client field of every booking in Redis."""
    raw: Any = redis  # (bytes answers)
    out = []
    async for key in raw.scan_iter(match="wb:{sued}:appt:*"):
        if (await raw.type(key)) == b"hash" and await raw.hexists(key, "code_hash"):
            out.append((await raw.hget(key, "client")).decode())
    return out
