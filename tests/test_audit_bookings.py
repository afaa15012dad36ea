"""A booking moved or cancelled by staff is recorded in the audit, through the API with a
device's token and through the pages with a staff session; its holder's own changes with
the code are not (services/bookings.py, web/appointments.py, pages/bookings.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from redis.asyncio import Redis

from tests.appointments.support import book, log_in, slot
from tests.helpers import (
    MONDAY_8,
    TIMEOUT,
    LiveServer,
    SettableClock,
    auth,
    live_server,
    office_with_appointments,
)
from waitboard.core.audit import AuditFilter, AuditRecord
from waitboard.store.embedded import EmbeddedRedis

FORM_POST = {"Accept": "text/html", "Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
async def srv(redis_server: EmbeddedRedis, redis: Redis) -> AsyncIterator[LiveServer]:
    async with live_server(
        redis_server.url, office_with_appointments(), clock=SettableClock(MONDAY_8)
    ) as server:
        yield server


async def _booking_records(server: LiveServer) -> list[AuditRecord]:
    page = await server.app.state.ctx.store.audit_page(AuditFilter(location="sued"), 100)
    return [r for r in reversed(page.records) if r.action.startswith("booking_")]


async def test_staff_with_a_token_moving_and_cancelling_a_booking_is_recorded(
    srv: LiveServer,
) -> None:
    """Reception moving and then cancelling a booking through the API with its device's
    token leaves booking_move and booking_cancel records naming the device."""
    async with httpx.AsyncClient(base_url=srv.url, timeout=TIMEOUT) as http:
        code = (await book(http, slot("09:00")))["code"]
        desk = auth("reception-sued")
        r = await http.post(
            f"/api/v1/appointments/{code}/move", json={"start": slot("09:20")}, headers=desk
        )
        assert r.status_code == 200, r.text
        r = await http.post(f"/api/v1/appointments/{code}/cancel", headers=desk)
        assert r.status_code == 200, r.text
    records = await _booking_records(srv)
    assert [(r.action, r.device, r.queue) for r in records] == [
        ("booking_move", "reception-sued", "T"),
        ("booking_cancel", "reception-sued", "T"),
    ]
    assert code not in str(records) and code.replace("-", "") not in str(records)


async def test_an_unknown_token_moving_a_booking_is_refused(srv: LiveServer) -> None:
    """A move with a token nobody knows is refused (401) and leaves the booking as it was."""
    async with httpx.AsyncClient(base_url=srv.url, timeout=TIMEOUT) as http:
        code = (await book(http, slot("09:00")))["code"]
        r = await http.post(
            f"/api/v1/appointments/{code}/move",
            json={"start": slot("09:20")},
            headers={"Authorization": "Bearer nobody-knows-this"},
        )
        assert r.status_code == 401, r.text
        assert (await http.get(f"/api/v1/appointments/{code}")).json()["start"] == slot("09:00")


async def test_staff_signed_in_on_the_pages_cancelling_a_booking_is_recorded(
    srv: LiveServer,
) -> None:
    """Reception logged in on the staff pages cancelling a booking on its page is
    recorded with the device."""
    async with httpx.AsyncClient(base_url=srv.url, timeout=TIMEOUT) as http:
        code = (await book(http, slot("09:00")))["code"]
        await log_in(http, "reception-sued")
        r = await http.post(f"/appointments/{code}/cancel", headers=FORM_POST, content=b"")
        assert r.status_code in (200, 303), r.text
    [record] = await _booking_records(srv)
    assert (record.action, record.device) == ("booking_cancel", "reception-sued")


async def test_the_holder_changing_their_own_booking_is_not_recorded(srv: LiveServer) -> None:
    """The holder moving (API) and cancelling (page) their booking with its code, without
    any staff token or session, records nothing in the audit."""
    async with httpx.AsyncClient(base_url=srv.url, timeout=TIMEOUT) as http:
        code = (await book(http, slot("09:00")))["code"]
        r = await http.post(f"/api/v1/appointments/{code}/move", json={"start": slot("09:20")})
        assert r.status_code == 200, r.text
        r = await http.post(f"/appointments/{code}/cancel", headers=FORM_POST, content=b"")
        assert r.status_code in (200, 303), r.text
        assert (await http.get(f"/api/v1/appointments/{code}")).json()["status"] == "cancelled"
    assert await _booking_records(srv) == []
