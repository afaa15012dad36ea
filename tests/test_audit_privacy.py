"""After a busy run - a booking with a contact checked in and served, counters opened and
closed, staff forms, applications changed and a person deleted from the directory - a scan
of every Redis key and value and of every log line finds no device token, no secret key,
no booking code, no PIN and no citizen's contact (but in the contact's own key, until its
day ends); the audit names people by pseudonym."""

from __future__ import annotations

import logging

import httpx
import pytest
from redis.asyncio import Redis

from tests.appointments.support import BOOK, local, slot
from tests.helpers import (
    MONDAY_8,
    TIMEOUT,
    SettableClock,
    auth,
    live_server,
    office_with_appointments,
    settings_for,
    token,
)
from tests.test_privacy import everything
from tests.test_staff import HTML, csrf_of, log_in
from waitboard.context import AppContext
from waitboard.core.audit import AuditFilter
from waitboard.core.staff import SignedInPerson, Workplace
from waitboard.services import tickets as commands
from waitboard.store.embedded import EmbeddedRedis

CONTACT = "erika.zz9-mustermann@example.org"
ADVISOR = SignedInPerson("p-7f3a", Workplace("counter", "sued", ("2",)), "pc-sued-2")


async def test_a_busy_run_leaves_no_secret_or_citizen_data_in_redis_or_logs(
    redis_server: EmbeddedRedis, redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    """Nothing secret or personal in Redis or the logs; the audit has every action."""
    caplog.set_level(logging.DEBUG)
    office = office_with_appointments()
    clock = SettableClock(MONDAY_8)
    forbidden = [settings_for("unused").secret_key, CONTACT, *(token(d.id) for d in office.devices)]
    async with (
        live_server(redis_server.url, office, clock=clock) as srv,
        httpx.AsyncClient(base_url=srv.url, timeout=TIMEOUT) as http,
    ):
        ctx: AppContext = srv.app.state.ctx
        await ctx.store.remember_person("p-7f3a", "Ada Advisor", 1)
        booked = await http.post(
            BOOK, json={"queue": "T", "start": slot("09:00"), "contact": CONTACT}
        )
        assert booked.status_code == 201, booked.text
        code = booked.json()["code"]
        forbidden += [code, code.replace("-", "")]
        clock.now = local("08:50")
        r = await http.post(
            "/api/v1/locations/sued/check-in", json={"code": code}, headers=auth("terminal-sued")
        )
        assert r.status_code == 201, r.text
        ticket = r.json()["id"]
        loc = ctx.location("sued")
        await commands.counter_command(ctx, ADVISOR, loc, "2", "open", None)
        await commands.counter_command(ctx, ADVISOR, loc, "2", "call-next", None)
        for name in ("recall", "start", "complete"):
            await commands.ticket_command(ctx, ADVISOR, loc, ticket, name, None, None)
        await commands.counter_command(ctx, ADVISOR, loc, "2", "close", None)

        await log_in(http, "counter-sued-1")
        page = (await http.get("/staff/sued/counters/1", headers=HTML)).text
        r = await http.post(
            "/staff/sued/counters/1/open", headers=HTML, data={"csrf": csrf_of(page), "key": "o"}
        )
        assert r.status_code == 303
        made = await http.post(
            "/api/v1/applications", json={"number": "PRIV-9-1"}, headers=auth("caseworker")
        )
        forbidden.append(made.json()["pin"])
        r = await http.post(
            "/api/v1/applications/stage",
            json={"number": "PRIV-9-1", "stage": "in_review"},
            headers=auth("caseworker"),
        )
        assert r.status_code == 200, r.text
        await ctx.store.forget_person("p-7f3a", by=ADVISOR)

        records = (await ctx.store.audit_page(AuditFilter(), limit=100)).records
        actions = {r.action for r in records}
        assert {"check_in", "call", "recall", "start", "complete", "counter_close"} <= actions
        assert {"application_create", "application_stage", "person_delete"} <= actions
        assert {r.person for r in records} == {"", "p-7f3a"}
        assert "Ada Advisor" not in str(records)

    stored = await everything(redis)
    # (The contact is kept in its own key until the end of its day, for reminders; there
    # and nowhere else.)
    [kept] = [k for k, v in stored.items() if CONTACT.encode() in v]
    assert kept.startswith(b"wb:{sued}:appt:contact:")
    del stored[kept]
    for needle in forbidden:
        assert needle, "an empty needle finds everything"
        found = [k for k, v in stored.items() if needle.encode() in k + v]
        assert found == [], (needle[:6] + "…", found[:3])
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert len(caplog.records) > 10
    for needle in forbidden:
        assert needle not in logged, needle[:6] + "…"
