"""What the appointment tests share: the clock's days, the paths, a running waitboard on
a clock the test sets (:class:`Env`), and the steps the tests take.

Everything runs against a real uvicorn and the embedded Redis, on a clock the test sets:
Monday 30 November 2026, 08:00 in Berlin unless a test moves it. Queue T at Süd takes
appointments on weekdays 08:00-12:00 in 20-minute slots of 3 places; check-in opens 30
minutes before a slot and is on time until 10 minutes after it; counter 2 serves B, A,
then T.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from redis.asyncio import Redis

from tests.helpers import (
    SettableClock,
    auth,
)
from tests.test_staff import log_in as staff_log_in
from waitboard.store import keys

TZ = ZoneInfo("Europe/Berlin")
MONDAY = date(2026, 11, 30)
TUESDAY = date(2026, 12, 1)
BOOK = "/api/v1/locations/sued/appointments"
SLOTS = "/api/v1/locations/sued/appointments/T"
CHECK_IN = "/api/v1/locations/sued/check-in"
FORM = "/locations/sued/appointments/T"
HTML = {"Accept": "text/html"}
PROBLEM = "application/problem+json"
#: A code of the right shape that no booking has (letters and digits of the alphabet).
UNKNOWN_CODE = "K7QM-4XPA"


def local(hhmm: str, day: date = MONDAY) -> datetime:
    hour, minute = (int(part) for part in hhmm.split(":"))
    return datetime.combine(day, time(hour, minute), TZ)


def slot(hhmm: str, day: date = MONDAY) -> str:
    """A slot's start as the API offers it: ``2026-11-30T09:00+01:00``."""
    return local(hhmm, day).isoformat(timespec="minutes")


def bare(code: str) -> str:
    return code.replace("-", "")


def contact_key(code: str) -> str:
    return keys.booking_contact("sued", hashlib.sha256(bare(code).encode()).hexdigest())


@dataclass
class Env:
    """A running waitboard with appointments, its clock and a client."""

    http: httpx.AsyncClient
    clock: SettableClock
    redis: Redis
    url: str

    def at(self, hhmm: str, day: date = MONDAY) -> None:
        self.clock.now = local(hhmm, day)


def problem(
    r: httpx.Response, status: int, code: str | None = None, says: str | None = None
) -> dict[str, Any]:
    """The answer is a problem+json of this status (and code), saying ``says``."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM, r.headers["content-type"]
    body: dict[str, Any] = r.json()
    assert body["status"] == status and body["title"] and body["detail"], body
    if code is not None:
        assert body["code"] == code, body
    if says is not None:
        assert says in body["detail"], body["detail"]
    assert "Traceback" not in r.text
    return body


async def book(
    http: httpx.AsyncClient, start: str, contact: str | None = None, key: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"queue": "T", "start": start}
    if contact is not None:
        body["contact"] = contact
    r = await http.post(BOOK, json=body, headers={"Idempotency-Key": key} if key else {})
    assert r.status_code == 201, r.text
    answer: dict[str, Any] = r.json()
    return answer


async def day_slots(http: httpx.AsyncClient, day: date) -> dict[str, int]:
    """The day's bookable slots and their free places."""
    r = await http.get(SLOTS, params={"date": day.isoformat()})
    assert r.status_code == 200, r.text
    return {s["start"]: s["free"] for s in r.json()["slots"]}


async def free_at(http: httpx.AsyncClient, start: str) -> int:
    slots = await day_slots(http, date.fromisoformat(start[:10]))
    assert start in slots, f"{start} is not offered: {sorted(slots)}"
    return slots[start]


async def fill(http: httpx.AsyncClient, start: str) -> list[str]:
    """Book every free place of a slot; the codes."""
    return [(await book(http, start))["code"] for _ in range(await free_at(http, start))]


async def check_in(
    http: httpx.AsyncClient, code: str, device: str = "terminal-sued", location: str = "sued"
) -> httpx.Response:
    return await http.post(
        f"/api/v1/locations/{location}/check-in", json={"code": code}, headers=auth(device)
    )


async def appointment(http: httpx.AsyncClient, code: str) -> dict[str, Any]:
    r = await http.get(f"/api/v1/appointments/{code}")
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


async def issue(http: httpx.AsyncClient, queue: str) -> dict[str, Any]:
    r = await http.post(
        "/api/v1/locations/sued/tickets", json={"queue": queue}, headers=auth("reception-sued")
    )
    assert r.status_code == 201, r.text
    answer: dict[str, Any] = r.json()
    return answer


COUNTER_2 = "/api/v1/locations/sued/counters/2"


async def open_counter_2(http: httpx.AsyncClient) -> None:
    r = await http.post(f"{COUNTER_2}/open", headers=auth("counter-sued-2"))
    assert r.status_code == 200, r.text


async def call_next(http: httpx.AsyncClient) -> dict[str, Any] | None:
    """The ticket counter 2 calls, or None when nobody waits."""
    r = await http.post(f"{COUNTER_2}/call-next", headers=auth("counter-sued-2"))
    if r.status_code == 204:
        return None
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


async def finish(http: httpx.AsyncClient, ticket_id: str) -> None:
    for action in ("start", "complete"):
        r = await http.post(f"/api/v1/tickets/{ticket_id}/{action}", headers=auth("counter-sued-2"))
        assert r.status_code == 200, r.text


async def call_and_finish(http: httpx.AsyncClient) -> dict[str, Any]:
    called = await call_next(http)
    assert called is not None, "nobody was called"
    await finish(http, called["id"])
    return called


async def log_in(http: httpx.AsyncClient, device: str) -> httpx.Response:
    r = await staff_log_in(http, device)
    assert r.status_code == 303, r.text
    return r


async def everything_in(client: Redis) -> list[bytes]:
    """Every key, field, member and value in Redis, read by type (DUMP may compress)."""
    redis: Any = client  # redis-py's answers are typed bytes | str; this client gives bytes
    out: list[bytes] = []
    async for key in redis.scan_iter(count=1000):
        out.append(key)
        kind = (await redis.type(key)).decode()
        if kind == "string":
            out.append(await redis.get(key) or b"")
        elif kind == "hash":
            for k, v in (await redis.hgetall(key)).items():
                out += [k, v]
        elif kind == "list":
            out += await redis.lrange(key, 0, -1)
        elif kind == "set":
            out += list(await redis.smembers(key))
        elif kind == "zset":
            out += await redis.zrange(key, 0, -1)
        elif kind == "stream":
            for entry_id, fields in await redis.xrange(key):
                out.append(entry_id)
                for k, v in fields.items():
                    out += [k, v]
        elif kind != "none":  # expired between SCAN and TYPE
            pytest.fail(f"{key!r} has a type this test does not read: {kind}")
    return out
